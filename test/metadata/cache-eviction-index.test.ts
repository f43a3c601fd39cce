// Cache eviction's removals of the metadata suite, on both databases: a SQLite file and a throwaway PostgreSQL cluster.
import { runCacheEvictionSuite } from '../../src/metadata/testing/cache-eviction-suite.js';
import { runOnBothDatabases } from '../helpers/metadata-databases.js';

runOnBothDatabases(runCacheEvictionSuite);
