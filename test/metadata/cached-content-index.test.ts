// The pull-through cache records of the metadata suite, on both databases: a SQLite file and a throwaway PostgreSQL cluster.
import { runCachedContentSuite } from '../../src/metadata/testing/cached-content-suite.js';
import { runOnBothDatabases } from '../helpers/metadata-databases.js';

runOnBothDatabases(runCachedContentSuite);
