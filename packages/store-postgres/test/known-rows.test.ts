/**
 * An append decided from the rows this process already knows goes out in one round trip, and is
 * written only if no other process appended since and every row it guessed absent is absent. Two
 * stores on one schema (two pools, as two processes would have) take turns, so each one's
 * knowledge keeps going stale under the other's appends.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventFilter, Expectation, PartitionRef } from "@tessera/core"
import { PgAppend } from "@tessera/store-postgres"
import { Chunk, Effect, Either, Metric, Stream } from "effect"
import * as ev from "./events.js"
import { Admin, dropAfter, openLog, uniqueName } from "./helpers.js"

const claimable = (ref: string) => [new Expectation.Claimable({ ref: PartitionRef.unsafeMake(ref) })]

const counts = Effect.all({
  written: Metric.value(PgAppend.fromKnownRows),
  moved: Metric.value(PgAppend.movedPast),
  taken: Metric.value(PgAppend.guessedWrong)
})

/** Two stores on one fresh schema, each with a pool of its own, as two processes would have. */
const twoStores = Effect.gen(function* () {
  const schema = uniqueName("known")
  yield* dropAfter(schema)
  const a = yield* openLog({ schema, applicationName: "tessera-known-a", maxConnections: 2 })
  const b = yield* openLog({ schema, applicationName: "tessera-known-b", maxConnections: 2 })
  return { a, b }
})

describe("PgEventLog deciding from the rows it knows", () => {
  it.scopedLive("sees every append of another process: seqs stay gap-free, claims conflict, retries dedupe", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoStores
      const spec = (run: string, ref: string) => ({ run, build: `build-${run}`, ref, lease: ev.liveLease() })
      const before = yield* counts

      // A knows its own run and partition; B then moves the head past what A knows, and A past B's.
      const a1 = spec("a1", "known/p=1")
      yield* a.append(ev.claim(a1), { expect: claimable(a1.ref) })
      yield* b.append(ev.claim(spec("b1", "known/p=2")), { expect: claimable("known/p=2") })
      const completion = ev.complete(a1)
      const completed = yield* a.append(completion)
      expect(completed.appended.map((entry) => entry.seq)).toEqual([5, 6, 7, 8])
      yield* b.append(ev.claim(spec("b3", "known/p=3")), { expect: claimable("known/p=3") })
      yield* a.append([ev.note("known/p=1", a1.build)])

      // A is current now but has never seen p=3: B's claim on it must stop A's, though A guesses it absent.
      const refused = yield* Effect.either(
        a.append(ev.claim(spec("a3", "known/p=3")), { expect: claimable("known/p=3") })
      )
      expect(Either.isLeft(refused) && refused.left._tag).toBe("AppendConflict")

      // The same events again: their ids are in the log, so they are skipped, not written twice
      // (decided from known rows they would repeat a finished run, so they are decided after a read).
      const again = yield* a.append(completion)
      expect(again).toMatchObject({ appended: [], duplicates: 4 })
      const next = yield* a.append([ev.note("known/p=1", a1.build)])
      expect(next.appended.map((entry) => entry.seq)).toEqual([12])

      const after = yield* counts
      expect(after.moved.count - before.moved.count).toBe(3)
      expect(after.taken.count - before.taken.count).toBe(1)
      expect(after.written.count - before.written.count).toBe(1)
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(b.stream(EventFilter.all)))
      expect(events.map((entry) => entry.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
      const catalog = yield* b.partitions({ refs: ["known/p=1", "known/p=3"] })
      expect(catalog.items).toMatchObject([
        { ref: "known/p=1", status: "AVAILABLE", jobRunId: "a1" },
        { ref: "known/p=3", status: "SCHEDULED", jobRunId: "b3" }
      ])
    }).pipe(Effect.provide(Admin))
  )

  it.scopedLive("stops deciding from known rows while another process keeps appending, and starts again alone", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoStores
      const before = yield* counts
      for (let i = 0; i < 20; i++) {
        yield* a.append([ev.note(`turns/a=${i}`, "a")])
        yield* b.append([ev.note(`turns/b=${i}`, "b")])
      }
      const taking = yield* counts
      // Each store tries a few times before its estimate passes one half, then reads first.
      expect(taking.moved.count - before.moved.count).toBeLessThanOrEqual(8)
      // Alone, each read shows the head held: within a few groups A decides from known rows again.
      for (let i = 0; i < 16; i++) yield* a.append([ev.note(`alone/a=${i}`, "a")])
      const alone = yield* counts
      expect(alone.written.count - taking.written.count).toBeGreaterThanOrEqual(10)
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(a.stream(EventFilter.all)))
      expect(events.map((entry) => entry.seq)).toEqual(Array.from({ length: 56 }, (_, i) => i + 1))
    }).pipe(Effect.provide(Admin))
  )
})
