/**
 * Callers give up on store calls all the time: a heartbeat is interrupted when its run ends, a
 * tail loses a race against a lease's expiry, a build is cancelled mid-append. None of that may
 * leave a connection mid-transaction in the pool (the next user would fail with 25P02), leak a
 * pooled connection (the pool would run dry and every call wait forever), or cancel a statement
 * of someone else. And a call the server does not answer fails, naming the operation.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { EventFilter } from "@tessera/core"
import { Migrations } from "@tessera/store-postgres"
import { Chunk, Context, Effect, Fiber, Layer, Random, Redacted, Stream } from "effect"
import * as ev from "./events.js"
import { Admin, dropAfter, openLog, serverUrl, uniqueName } from "./helpers.js"

describe("PgEventLog under interrupted calls", () => {
  it.scopedLive(
    "hundreds of appends and reads interrupted at random moments leave a pool of 2 whole: later calls answer, none aborted",
    () =>
      Effect.gen(function* () {
        const schema = uniqueName("interrupt")
        yield* dropAfter(schema)
        const log = yield* openLog({ schema, maxConnections: 2, operationTimeout: "20 seconds" })
        yield* Effect.forEach(
          Array.from({ length: 300 }, (_, i) => i),
          (i) =>
            Effect.gen(function* () {
              const call: Effect.Effect<void, unknown> =
                i % 3 === 0
                  ? Effect.asVoid(log.read({ refPrefixes: ["interrupt/"] }))
                  : Effect.asVoid(log.append([ev.note(`interrupt/i=${i}`, "b1")]))
              // Interrupted anywhere from before its BEGIN to after its COMMIT.
              yield* Effect.timeout(call, yield* Random.nextIntBetween(0, 6))
            }).pipe(Effect.ignore),
          { concurrency: 6 }
        )
        // Every connection of the pool is usable: appends after the storm land, and each one's
        // events read back, in a gap-free log.
        const after = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => log.append([ev.note(`after/i=${i}`, "b1")]),
          { concurrency: 4 }
        ).pipe(Effect.timeout("30 seconds"))
        expect(after.flatMap((result) => result.appended)).toHaveLength(20)
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
        const ids = new Set(events.map((e) => e.event.eventId))
        expect(ids.size).toBe(events.length)
      }).pipe(Effect.provide(Admin)),
    120_000
  )

  it.scopedLive("an append that cannot get the log's lock within operationTimeout fails, naming the operation", () =>
    Effect.gen(function* () {
      const schema = uniqueName("locked")
      yield* dropAfter(schema)
      const log = yield* openLog({ schema, operationTimeout: "1 second", retryFor: "1 second" })
      yield* log.append([ev.note("locked/a=1", "b1")])
      // Another session holds the append lock in an open transaction for 3 s, as a hung appender would.
      const holder = yield* Effect.map(
        Layer.build(PgClient.layer({ url: Redacted.make(serverUrl()), maxConnections: 1 })),
        Context.get(PgClient.PgClient)
      )
      const held = yield* Effect.fork(
        holder.withTransaction(
          Effect.zipRight(
            holder`SELECT pg_advisory_xact_lock(${Migrations.LOCK_APPEND}, hashtext(${schema}))`,
            Effect.sleep("3 seconds")
          )
        )
      )
      yield* Effect.sleep("300 millis")
      const refused = yield* Effect.flip(log.append([ev.note("locked/a=2", "b1")]))
      expect(refused._tag).toBe("StoreError")
      expect(refused.message).toContain("append failed")
      expect(refused.message).toContain("lock timeout")
      // Once the lock is free the same log appends again: the refused transaction was rolled back.
      yield* Fiber.join(held)
      const next = yield* log.append([ev.note("locked/a=3", "b1")])
      expect(next.appended).toHaveLength(1)
      expect(next.head).toBe(2)
    }).pipe(Effect.provide(Admin))
  )
})
