// The retention part of the metadata suite, on both databases: a SQLite file and a throwaway PostgreSQL cluster.
import { runRetentionSuite } from '../../src/metadata/testing/retention-suite.js';
import { runOnBothDatabases } from '../helpers/metadata-databases.js';

runOnBothDatabases(runRetentionSuite);
