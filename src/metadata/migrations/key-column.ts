// The type of key columns in migrations from 4 on: text that compares by bytes on both
// databases. SQLite's text already does and knows no collation named "C"; PostgreSQL needs
// COLLATE "C" (migration 3 gave the older tables the same).
import { PostgresIntrospector, sql, type Kysely, type RawBuilder } from 'kysely';

export function keyColumnType(db: Kysely<unknown>): 'text' | RawBuilder<unknown> {
  return db.introspection instanceof PostgresIntrospector ? sql`text collate "C"` : 'text';
}
