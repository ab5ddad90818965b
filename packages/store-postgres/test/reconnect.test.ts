/**
 * The store's connections die under it (`pg_terminate_backend`, as an operator or a network cut
 * would do it): appends carry on after reconnecting or fail with a StoreError, and either way no
 * event is lost or stored twice; a tail carries on from its cursor, missing and repeating nothing.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { type BuildEvent, EventFilter, EventLog } from "@tessera/core"
import { PgEventLog, Resilience } from "@tessera/store-postgres"
import { Chunk, type Duration, Effect, Either, Fiber, Layer, Metric, Ref, Schedule, Stream } from "effect"
import * as ev from "./events.js"
import { Admin, dropAfter, openLog, serverUrl, terminate, uniqueName } from "./helpers.js"

const allEvents = (log: EventLog.EventLogShape) =>
  Effect.map(Stream.runCollect(log.stream(EventFilter.all)), Chunk.toReadonlyArray)

/** Keeps terminating the connections of `applicationName` until interrupted; counts the kills. */
const keepKilling = (applicationName: string, every: Duration.DurationInput) =>
  Effect.gen(function* () {
    const killed = yield* Ref.make(0)
    const fiber = yield* terminate(applicationName).pipe(
      Effect.flatMap((n) => Ref.update(killed, (total) => total + n)),
      Effect.repeat(Schedule.spaced(every)),
      Effect.fork
    )
    return { stop: Effect.zipRight(Fiber.interrupt(fiber), Ref.get(killed)) }
  })

describe("PgEventLog when its connections are terminated", () => {
  it.scopedLive(
    "appends under repeated pg_terminate_backend reconnect; none is lost or doubled, reported seqs are the log's",
    () =>
      Effect.gen(function* () {
        const schema = uniqueName("kill")
        const victim = uniqueName("victim")
        yield* dropAfter(schema)
        const log = yield* openLog({ schema, applicationName: victim, maxConnections: 3 })
        const batches: ReadonlyArray<ReadonlyArray<BuildEvent.BuildEvent>> = Array.from({ length: 150 }, (_, i) => [
          ev.note(`kill/i=${i}/a=1`, "b1"),
          ev.note(`kill/i=${i}/a=2`, "b1")
        ])
        const retriedBefore = yield* Metric.value(Resilience.retries)
        const killer = yield* keepKilling(victim, "30 millis")
        const outcomes = yield* Effect.forEach(batches, (batch) => Effect.either(log.append(batch)), {
          concurrency: 4
        })
        const killed = yield* killer.stop
        expect(killed).toBeGreaterThan(0)
        expect((yield* Metric.value(Resilience.retries)).count).toBeGreaterThan(retriedBefore.count)

        // An append that gave up says so as a StoreError; retried with the same ids it lands once.
        const results: Array<EventLog.AppendResult> = []
        for (const [i, outcome] of outcomes.entries()) {
          if (Either.isRight(outcome)) {
            results.push(outcome.right)
            continue
          }
          expect(outcome.left).toBeInstanceOf(EventLog.StoreError)
          expect(outcome.left.message).toContain("postgres store: append failed")
          results.push(yield* log.append(batches[i]!))
        }

        const events = yield* allEvents(log)
        const ids = batches.flat().map((event) => event.eventId)
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1))
        expect(events.map((e) => e.event.eventId).sort()).toEqual([...ids].sort())
        const bySeq = new Map(events.map((e) => [e.seq, e.event.eventId]))
        for (const result of results) {
          for (const entry of result.appended) expect(bySeq.get(entry.seq)).toBe(entry.event.eventId)
        }
        // Every event was reported appended exactly once, even when the answer to a commit was lost.
        expect(results.flatMap((result) => result.appended.map((e) => e.event.eventId)).sort()).toEqual([...ids].sort())
      }).pipe(Effect.provide(Admin)),
    120_000
  )

  it.scopedLive(
    "an append whose database is gone fails with a StoreError that names the cause, and writes nothing",
    () =>
      Effect.gen(function* () {
        const database = uniqueName("gone")
        const sql = yield* PgClient.PgClient
        yield* sql`CREATE DATABASE ${sql(database)}`
        yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP DATABASE IF EXISTS ${sql(database)} WITH (FORCE)`))
        const url = new URL(serverUrl())
        url.pathname = `/${database}`
        const log = yield* Effect.flatMap(
          Layer.build(PgEventLog.layer({ url: url.toString(), retryFor: "1 second" })),
          (context) => EventLog.EventLog.pipe(Effect.provide(context))
        )
        yield* log.append([ev.note("gone/a=1", "b1")])
        yield* sql`DROP DATABASE ${sql(database)} WITH (FORCE)`
        const failed = yield* Effect.flip(log.append([ev.note("gone/a=2", "b1")]))
        expect(failed).toBeInstanceOf(EventLog.StoreError)
        expect(failed.message).toContain("postgres store: append failed")
        expect(failed.message).toContain("does not exist")
      }).pipe(Effect.provide(Admin))
  )

  it.scopedLive(
    "a tail across terminated connections misses nothing and repeats nothing, woken by LISTEN alone",
    () =>
      Effect.gen(function* () {
        const schema = uniqueName("tail")
        const reader = uniqueName("reader")
        yield* dropAfter(schema)
        // An hour-long poll: only LISTEN (re-established after each kill) can wake this tail in time.
        const tailing = yield* openLog({
          schema,
          applicationName: reader,
          pollInterval: "1 hour",
          listenCheckInterval: "200 millis"
        })
        const writer = yield* openLog({ schema, applicationName: uniqueName("writer") })
        const rounds = 8
        const perRound = 25
        const seen = yield* Ref.make<Array<number>>([])
        const tail = yield* tailing.tail(EventFilter.all).pipe(
          Stream.take(rounds * perRound),
          Stream.runForEach((e) => Ref.update(seen, (seqs) => [...seqs, e.seq])),
          Effect.fork
        )
        const caughtUp = (n: number) =>
          Ref.get(seen).pipe(
            Effect.repeat({ until: (seqs) => seqs.length >= n, schedule: Schedule.spaced("5 millis") })
          )
        let killed = 0
        for (let round = 0; round < rounds; round++) {
          for (let i = 0; i < perRound; i += 5) {
            yield* writer.append(Array.from({ length: 5 }, (_, k) => ev.note(`tail/r=${round}/i=${i + k}`, "b1")))
          }
          // Kill while the tail is idle on LISTEN; the next round reaches it only through a new LISTEN.
          yield* caughtUp((round + 1) * perRound)
          if (round % 2 === 1) killed += yield* terminate(reader)
        }
        yield* Fiber.join(tail)
        expect(killed).toBeGreaterThan(0)
        expect(yield* Ref.get(seen)).toEqual(Array.from({ length: rounds * perRound }, (_, i) => i + 1))
      }).pipe(Effect.provide(Admin)),
    120_000
  )
})
