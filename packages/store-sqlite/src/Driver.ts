/**
 * Calls into better-sqlite3, whose statements run synchronously, as effects that fail with
 * `SqlError` as `@effect/sql` statements do, so the store's error mapping (busy, full, damaged)
 * applies to both.
 */
import { SqlError } from "@effect/sql/SqlError"
import type BetterSqlite3 from "better-sqlite3"
import { Effect, Metric } from "effect"

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

/** Statements this process ran on SQLite logs: with `commits`, what a job or an append costs the file. */
export const statements = Metric.counter("tessera_sqlite_statements", {
  description: "SQL statements this process ran on SQLite logs",
  incremental: true
})

/** Write transactions this process committed on SQLite logs: one fsync each at synchronous=FULL. */
export const commits = Metric.counter("tessera_sqlite_commits", {
  description: "write transactions this process committed on SQLite logs",
  incremental: true
})

/** The statements of one connection's synchronous work, counted as they run, reported once per group. */
export const counting = (db: BetterSqlite3.Database) => {
  let count = 0
  const prepare = <P extends Array<unknown> = Array<unknown>, R = unknown>(source: string) => {
    const statement = db.prepare<P, R>(source)
    return {
      run: (...params: P) => {
        count++
        return statement.run(...params)
      },
      get: (...params: P) => {
        count++
        return statement.get(...params)
      },
      all: (...params: P) => {
        count++
        return statement.all(...params)
      }
    }
  }
  /** Adds the statements run since the last report to `statements`. */
  const report = Effect.suspend(() => {
    const n = count
    count = 0
    return Metric.incrementBy(statements, n)
  })
  return { prepare, report }
}
