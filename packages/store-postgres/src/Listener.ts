/**
 * The LISTEN connection of a process: notifications on the log's channel become wake-ups for tails
 * and for workers, over a connection that proves itself alive and is replaced when it is not.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import { Wakeup } from "@tessera/core"
import { type Duration, Effect, Fiber, Queue, Schedule, Schema, Stream } from "effect"
import { QUEUE_PAYLOAD } from "./PgJobQueue.js"

const PING = "ping:"

/**
 * Turns notifications into wake-ups, for as long as a tail needs them. A LISTEN connection can die
 * without a word (`pg_terminate_backend`, a network cut), so the loop pings itself through the
 * channel every `checkInterval` and starts over on a fresh connection when a ping does not come
 * back. Tails never depend on it for correctness: their poll finds every event anyway, only later.
 */
export const listen = (
  sql: PgClient.PgClient,
  channel: string,
  wakeups: { readonly log: Wakeup.Wakeup; readonly queue: Wakeup.Wakeup },
  checkInterval: Duration.Duration
): Effect.Effect<never> => {
  const me = `${PING}${Math.random().toString(36).slice(2)}`
  const session = Effect.scoped(
    Effect.gen(function* () {
      const pings = yield* Queue.sliding<string>(16)
      const listening = yield* sql.listen(channel).pipe(
        Stream.runForEach((payload) => {
          if (payload.startsWith(PING)) return payload === me ? Queue.offer(pings, payload) : Effect.void
          if (payload === QUEUE_PAYLOAD) return wakeups.queue.signal
          const appended = Wakeup.decode(payload)
          return appended === undefined ? wakeups.log.signal : wakeups.log.appended(appended)
        }),
        Effect.forkScoped
      )
      /**
       * Sends a ping through the channel and waits for it to come back on the LISTEN connection. The
       * ping's statement is never interrupted by the timeout (it finishes on its own): interrupting it
       * makes @effect/sql-pg send `pg_cancel_backend`, which lands on whatever its pooled connection
       * runs by then — under load, another caller's append (seen: "canceling statement due to user
       * request" failing one of eight racing builders).
       */
      const ping = sql`SELECT pg_notify(${channel}, ${me})`.pipe(Effect.uninterruptible, Effect.disconnect)
      const check = (within: Duration.DurationInput) =>
        Queue.takeAll(pings).pipe(
          // Not `sql.notify`: it sends `NOTIFY channel, $1`, which PostgreSQL refuses (NOTIFY takes no parameters).
          Effect.zipRight(ping),
          Effect.zipRight(Queue.take(pings)),
          Effect.timeoutFail({ duration: within, onTimeout: () => new ListenLost({ channel }) })
        )
      // LISTEN runs asynchronously in the stream, so the first pings may go out before it does.
      yield* Effect.retry(check("100 millis"), Schedule.recurs(50))
      // Only now is LISTEN surely active; appends made before are found by the read this wake-up
      // causes, and every later one notifies. Workers look for runs queued meanwhile the same way.
      yield* wakeups.log.signal
      yield* wakeups.queue.signal
      return yield* Effect.raceFirst(
        Fiber.join(listening),
        Effect.forever(Effect.zipRight(Effect.sleep(checkInterval), check(checkInterval)))
      )
    })
  )
  return session.pipe(
    Effect.zipRight(Effect.fail(new ListenLost({ channel }))),
    Effect.tapError((error) => Effect.logDebug("LISTEN connection lost; reconnecting", error)),
    Effect.retry(Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))),
    Effect.orDie,
    Effect.zipRight(Effect.never)
  )
}

class ListenLost extends Schema.TaggedError<ListenLost>()("ListenLost", { channel: Schema.String }) {
  override get message(): string {
    return `the LISTEN connection for channel ${this.channel} stopped hearing notifications`
  }
}
