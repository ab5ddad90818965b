/**
 * Calls into better-sqlite3, whose statements run synchronously, as effects that fail with
 * `SqlError` as `@effect/sql` statements do, so the store's error mapping (busy, full, damaged)
 * applies to both.
 */
import { SqlError } from "@effect/sql/SqlError"
import type BetterSqlite3 from "better-sqlite3"
import { Effect } from "effect"

const failedStatement = (cause: unknown) => new SqlError({ cause, message: "Failed to execute statement" })

export const run = <A>(body: () => A): Effect.Effect<A, SqlError> => Effect.try({ try: body, catch: failedStatement })

/** The most statements a connection keeps prepared: query shapes vary with their filters. */
const CACHED_STATEMENTS = 256

/** Statements prepared once per SQL text on `db`, and forgotten all at once if the shapes keep growing. */
export const statementCache = (db: BetterSqlite3.Database) => {
  const cache = new Map<string, BetterSqlite3.Statement>()
  return (source: string): BetterSqlite3.Statement => {
    let statement = cache.get(source)
    if (statement === undefined) {
      if (cache.size >= CACHED_STATEMENTS) cache.clear()
      statement = db.prepare(source)
      cache.set(source, statement)
    }
    return statement
  }
}
