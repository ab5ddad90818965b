/**
 * Transactions on a connection of their own, begun together with advisory locks, that never hand a
 * connection back to the pool mid-transaction and never have a statement cancelled under them.
 */
import type { Connection } from "@effect/sql/SqlConnection"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as PgClient from "@effect/sql-pg/PgClient"
import { Duration, Effect, Exit } from "effect"

/**
 * The message that opens a transaction: BEGIN, server-side bounds on every statement and lock wait
 * in it (so a transaction that cannot get its lock fails, naming the lock, instead of waiting
 * forever), then `locks`, in the order given. It goes out as one simple-protocol message.
 */
export const begin = (locks: ReadonlyArray<string>, bound: Duration.Duration): string => {
  const ms = Math.max(1, Math.round(Duration.toMillis(bound)))
  // The lock wait's bound fires first, so a transaction that could not get its lock says so.
  return ["BEGIN", `SET LOCAL statement_timeout = ${ms + 1000}`, `SET LOCAL lock_timeout = ${ms}`, ...locks].join("; ")
}

/**
 * Runs `body` in a transaction opened by `opening` on a reserved connection. Whatever ends it
 * early (a failed statement, a timeout, a lost COMMIT answer, even a failure of the opening
 * message after its BEGIN ran) rolls it back before the connection is released. It runs
 * uninterruptibly: interrupting a statement makes @effect/sql-pg send `pg_cancel_backend`, which
 * lands on whatever that backend runs by the time it arrives — possibly the next user's BEGIN,
 * leaving that transaction aborted (25P02) — and an interrupted `reserve` leaks its connection.
 * The server-side bounds of `begin` keep it from running forever instead. `beforeCommit` runs just
 * before COMMIT, so the caller knows when an outcome is in doubt.
 */
export const run = <A, E, R>(
  sql: PgClient.PgClient,
  opening: string,
  body: Effect.Effect<A, E, R>,
  beforeCommit: (a: A) => Effect.Effect<void> = () => Effect.void
) =>
  packed(sql, (connection) =>
    connection.executeUnprepared(opening, [], undefined).pipe(
      Effect.zipRight(body),
      Effect.tap(beforeCommit),
      Effect.tap(() => connection.executeUnprepared("COMMIT", [], undefined))
    )
  )

/**
 * Runs `body` on a reserved connection that it opens the transaction on and commits itself, so it
 * can send BEGIN and COMMIT in the same messages as its own statements (`SqlText`); with the same
 * guarantees as `run`: rolled back before the connection is released whenever it ends early, and
 * uninterruptible. Its parameterised statements run in the transaction too.
 */
export const packed = <A, E, R>(
  sql: PgClient.PgClient,
  body: (connection: Connection) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError, Exclude<R, SqlClient.TransactionConnection>> =>
  Effect.uninterruptible(
    Effect.scoped(
      Effect.gen(function* () {
        const connection = yield* sql.reserve
        const exit = yield* Effect.exit(
          body(connection).pipe(Effect.provideService(SqlClient.TransactionConnection, [connection, 0] as const))
        )
        if (Exit.isFailure(exit)) yield* Effect.ignore(connection.executeUnprepared("ROLLBACK", [], undefined))
        return yield* exit
      })
    )
  )
