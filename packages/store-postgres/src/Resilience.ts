/**
 * How every operation of the store meets a database that goes away or stops answering: bounded in
 * time, never interrupted mid-statement, retried while the connection is what failed.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { EventLog } from "@tessera/core"
import { Duration, Effect, Metric, Schedule } from "effect"
import { isSqlError, isTransient, STORE, storeError } from "./SqlErrors.js"

/** Operations retried after a lost connection by this process. */
export const retries = Metric.counter("tessera_postgres_retries", {
  description: "Operations the PostgreSQL store retried after losing its connection"
})

/** Retries lost connections, then turns what is left of SQL errors into `StoreError`. */
export type Resilient = (
  operation: string,
  kind?: "read" | "write"
) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, Exclude<E, SqlError> | EventLog.StoreError, R>

/** `resilient` for a store that retries for `retryFor` and bounds each attempt by `operationTimeout`. */
export const make = (options: {
  readonly retryFor: Duration.Duration
  readonly operationTimeout: Duration.Duration
}): Resilient => {
  const { retryFor, operationTimeout } = options
  const schedule = Schedule.exponential("50 millis").pipe(
    Schedule.union(Schedule.spaced("1 second")),
    Schedule.jittered,
    Schedule.upTo(retryFor)
  )
  /**
   * One attempt, never interrupted mid-statement: that would send `pg_cancel_backend`, which can
   * land on the next statement of that connection (see `Transaction.run`). A write makes its caller
   * wait for its answer, so the caller always knows whether it landed (a claim that landed is
   * released); the server's bounds in its transaction (`operationTimeout`) keep that wait finite.
   * A read's caller returns at once when interrupted, the read finishing on its own, and a server
   * that does not answer a read within `operationTimeout` fails it, naming the operation.
   */
  const bounded =
    (operation: string, kind: "read" | "write") =>
    <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | EventLog.StoreError, R> =>
      kind === "write"
        ? Effect.uninterruptible(effect)
        : effect.pipe(
            Effect.uninterruptible,
            Effect.disconnect,
            Effect.timeoutFail({
              duration: Duration.sum(operationTimeout, "2 seconds"),
              onTimeout: () =>
                new EventLog.StoreError({
                  store: STORE,
                  operation,
                  reason:
                    `PostgreSQL did not answer within ${Duration.format(operationTimeout)}. ` +
                    `Check the server's load and locks (pg_stat_activity), or raise operationTimeout`
                })
            })
          )
  const resilient: Resilient =
    (operation: string, kind: "read" | "write" = "write") =>
    <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError> | EventLog.StoreError, R> =>
      bounded(
        operation,
        kind
      )(effect).pipe(
        Effect.tapError((error) => (isSqlError(error) && isTransient(error) ? Metric.increment(retries) : Effect.void)),
        Effect.retry({ schedule, while: (error) => isSqlError(error) && isTransient(error) }),
        Effect.mapError((error) =>
          isSqlError(error) ? storeError(operation, error, retryFor) : (error as Exclude<E, SqlError>)
        )
      )

  return resilient
}
