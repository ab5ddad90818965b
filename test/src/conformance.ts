/**
 * The store conformance suite, written once and run against every store. A store passes when it
 * behaves exactly like the in-memory reference: same seqs, same refusals, same views.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  type BuildEvent,
  Errors,
  EventFilter,
  EventLog,
  Expectation,
  InMemoryEventLog,
  PartitionRef,
  Projection,
  Queries
} from "@tessera/core"
import { Chunk, Effect, Either, Fiber, type Layer, Stream } from "effect"
import * as Arbitrary from "./arbitrary.js"
import * as ev from "./events.js"

export interface StoreUnderTest {
  readonly name: string
  /** Builds a fresh, empty store each time it is provided. */
  readonly fresh: Layer.Layer<EventLog.EventLog, unknown>
  /** Runs of the property test (at least 200 in CI). */
  readonly propertyRuns?: number
}

const ref = PartitionRef.unsafeMake

/** The whole state a store exposes: its events and its three views. */
const snapshot = Effect.gen(function* () {
  const log = yield* EventLog.EventLog
  const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
  const partitions = yield* Queries.allPages((after) => log.partitions({ after, limit: 2 }))
  const jobRuns = yield* Queries.allPages((after) => log.jobRuns({ after, limit: 2 }))
  const buildRequests = yield* Queries.allPages((after) => log.buildRequests({ after, limit: 2 }))
  return { events, partitions, jobRuns, buildRequests, head: yield* log.head }
})

const sortedValues = <A>(map: ReadonlyMap<string, A>) =>
  [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row)

/** The views a store shows are what the reducer makes of its events. */
const expectViewsOfReplay = (state: Effect.Effect.Success<typeof snapshot>) => {
  const replayed = Either.getOrThrow(Projection.replay(state.events))
  expect(state.partitions).toEqual(sortedValues(replayed.partitions))
  expect(state.jobRuns).toEqual(sortedValues(replayed.jobRuns))
  expect(state.buildRequests).toEqual(sortedValues(replayed.buildRequests))
}

const outcome = (result: Either.Either<unknown, { readonly _tag: string }>) =>
  Either.isRight(result) ? "ok" : result.left._tag

export const conformance = (store: StoreUnderTest) =>
  describe(`EventLog conformance: ${store.name}`, () => {
    const test = <A, E>(name: string, body: Effect.Effect<A, E, EventLog.EventLog>, timeout?: number) =>
      it.live(name, () => Effect.provide(body, store.fresh), timeout)

    test(
      "a batch lands atomically with consecutive, gap-free seq",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        expect(yield* log.head).toBe(0)
        const first = yield* log.append([ev.received("b1", ["sales/date=1"]), ev.buildStatus("b1", "PLANNING")])
        expect(first.appended.map((e) => e.seq)).toEqual([1, 2])
        expect(first.head).toBe(2)
        const second = yield* log.append([ev.buildStatus("b1", "EXECUTING"), ev.buildStatus("b1", "COMPLETED")])
        expect(second.appended.map((e) => e.seq)).toEqual([3, 4])
        const page = yield* log.read(EventFilter.all)
        expect(page.events.map((e) => e.seq)).toEqual([1, 2, 3, 4])
        expect(page.next).toBeUndefined()
        expect(page.events.map((e) => e.event.eventId)).toEqual(
          [...first.appended, ...second.appended].map((e) => e.event.eventId)
        )
        const [row] = (yield* log.buildRequests({ buildRequestIds: ["b1"] })).items
        expect(row?.status).toBe("COMPLETED")
      })
    )

    test(
      "concurrent appends each land or are refused alone, judged in the order they commit",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        yield* log.append([ev.received("b1")])
        // 16 runs race to claim one partition, each expecting it claimable, beside 16 independent appends.
        const claims = Array.from({ length: 16 }, (_, i) =>
          Effect.either(
            log.append(ev.claim({ run: `r${i}`, build: "b1", outputs: ["sales/date=1"], lease: ev.liveLease() }), {
              expect: [new Expectation.Claimable({ ref: ref("sales/date=1") })]
            })
          )
        )
        const others = Array.from({ length: 16 }, (_, i) => Effect.either(log.append([ev.received(`other${i}`)])))
        const results = yield* Effect.all([...claims, ...others], { concurrency: "unbounded" })
        const claimResults = results.slice(0, 16)
        expect(claimResults.filter(Either.isRight)).toHaveLength(1)
        expect(claimResults.filter(Either.isLeft).map((result) => result.left._tag)).toEqual(
          Array.from({ length: 15 }, () => "AppendConflict")
        )
        expect(results.slice(16).every(Either.isRight)).toBe(true)
        // Every landed event has its own seq, gap-free, and the views say what the reducer says.
        const all = yield* snapshot
        expect(all.events.map((e) => e.seq)).toEqual(Array.from({ length: all.head }, (_, i) => i + 1))
        expect(all.head).toBe(1 + 2 + 16)
        const replayed = Either.getOrThrow(Projection.replay(all.events))
        expect(all.partitions).toEqual(sortedValues(replayed.partitions))
        expect(all.buildRequests).toEqual(sortedValues(replayed.buildRequests))
      })
    )

    test(
      "an invalid event refuses the whole batch and writes nothing",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        yield* log.append([ev.received("b1")])
        const before = yield* snapshot
        const spec = { run: "r1", build: "b1", outputs: ["sales/date=1"], lease: ev.liveLease() }
        const refused = yield* Effect.flip(
          log.append([...ev.claim(spec), ev.partition("sales/date=1", "AVAILABLE", "b1", "r1")])
        )
        expect(refused._tag).toBe("InvalidTransition")
        expect(refused.message).toContain("not COMPLETED")
        expect(yield* snapshot).toEqual(before)
        // The same events without the bad one land, with the seqs the refused batch would have had.
        const ok = yield* log.append(ev.claim(spec))
        expect(ok.appended.map((e) => e.seq)).toEqual([2, 3])
      })
    )

    test(
      "invalid transitions are refused with a typed error naming the rule",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const spec = { run: "r1", build: "b1", outputs: ["sales/date=1"], lease: ev.liveLease() }
        const cases: ReadonlyArray<[ReadonlyArray<BuildEvent.BuildEvent>, string]> = [
          [[ev.buildStatus("nope", "EXECUTING")], "unknown build request"],
          [[ev.partition("sales/date=1", "AVAILABLE", "b1", "ghost")], "never ran"],
          [[ev.jobRun(spec, "RUNNING"), ev.jobRun(spec, "COMPLETED"), ev.jobRun(spec, "RUNNING")], "already COMPLETED"],
          [[ev.invalidated("sales/date=9", "b1")], "unknown partition"],
          [[ev.heartbeat("ghost", "b1", ev.liveLease())], "unknown job run"],
          [[ev.received("b1"), ev.received("b1")], "already received"],
          [[ev.partition("sales/date=1", "UNKNOWN", "b1")], "UNKNOWN"]
        ]
        for (const [events, reason] of cases) {
          const refused = yield* Effect.flip(log.append(events))
          expect(refused._tag).toBe("InvalidTransition")
          expect(refused.message).toContain(reason)
        }
        expect(yield* log.head).toBe(0)
      })
    )

    test(
      "duplicate event ids are ignored, never stored twice",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const batch = [ev.received("b1"), ev.buildStatus("b1", "PLANNING")]
        yield* log.append(batch)
        const retry = yield* log.append(batch)
        expect(retry.appended).toEqual([])
        expect(retry.duplicates).toBe(2)
        expect(retry.head).toBe(2)
        const withinBatch = ev.buildStatus("b1", "EXECUTING")
        const mixed = yield* log.append([batch[0]!, withinBatch, withinBatch])
        expect(mixed.appended.map((e) => e.seq)).toEqual([3])
        expect(mixed.duplicates).toBe(2)
        expect((yield* log.read(EventFilter.all)).events).toHaveLength(3)
      })
    )

    test(
      "a retried conditional append that already landed succeeds without re-checking",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const spec = { run: "r1", build: "b1", outputs: ["sales/date=1"], lease: ev.liveLease() }
        const batch = ev.claim(spec)
        const expectations = [new Expectation.Claimable({ ref: ref("sales/date=1") })]
        yield* log.append(batch, { expect: expectations })
        const retry = yield* log.append(batch, {
          expect: [new Expectation.PartitionIs({ ref: ref("sales/date=1"), statuses: ["UNKNOWN"] })]
        })
        expect(retry.appended).toEqual([])
      })
    )

    test(
      "filters select by build, ref, prefix, job run, kind and time; pages follow the cursor",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const a = { run: "ra", build: "b1", outputs: ["sales/date=1"], lease: ev.liveLease() }
        const b = { run: "rb", build: "b2", outputs: ["report/week=1"], lease: ev.liveLease() }
        yield* log.append([ev.received("b1"), ev.received("b2")])
        yield* log.append([...ev.claim(a), ...ev.complete(a)])
        yield* log.append([...ev.claim(b), ev.delegated("sales/date=1", "b2", "b1", "historical")])
        const all = (yield* log.read(EventFilter.all)).events
        const seqs = (filter: EventFilter.EventFilter) =>
          Effect.map(log.read(filter), (page) => page.events.map((e) => e.seq))
        const expected = (predicate: (event: BuildEvent.BuildEvent) => boolean) =>
          all.filter((e) => predicate(e.event)).map((e) => e.seq)

        expect(yield* seqs({ buildRequestIds: ["b2"] })).toEqual(expected((e) => e.buildRequestId === "b2"))
        expect(yield* seqs({ partitionRefs: ["sales/date=1"] })).toEqual(
          expected((e) => "partitionRef" in e && e.partitionRef === "sales/date=1")
        )
        expect(yield* seqs({ refPrefixes: ["report/"] })).toEqual(
          expected((e) => "partitionRef" in e && e.partitionRef.startsWith("report/"))
        )
        expect(yield* seqs({ partitionRefs: ["sales/date=1"], refPrefixes: ["report/"] })).toEqual(
          expected((e) => "partitionRef" in e)
        )
        expect(yield* seqs({ jobRunIds: ["ra"] })).toEqual(
          expected((e) => ("jobRunId" in e && e.jobRunId === "ra") || ("toJobRunId" in e && e.toJobRunId === "ra"))
        )
        expect(yield* seqs({ kinds: ["Delegated", "BuildRequestReceived"] })).toEqual(
          expected((e) => e._tag === "Delegated" || e._tag === "BuildRequestReceived")
        )
        expect(yield* seqs({ kinds: ["JobRunStatusChanged"], buildRequestIds: ["b1"] })).toEqual(
          expected((e) => e._tag === "JobRunStatusChanged" && e.buildRequestId === "b1")
        )
        const middle = all[3]!.event.timestamp
        expect(yield* seqs({ since: middle })).toEqual(expected((e) => e.timestamp >= middle))
        expect(yield* seqs({ until: middle })).toEqual(expected((e) => e.timestamp < middle))
        for (const empty of [{ buildRequestIds: [] }, { partitionRefs: [] }, { kinds: [] }, { jobRunIds: [] }]) {
          expect(yield* seqs(empty)).toEqual([])
        }
        expect(yield* seqs({ buildRequestIds: ["nobody"] })).toEqual([])

        // Paging: every limit walks the same events, and `next` is absent exactly at the end.
        for (const limit of [1, 2, 3, all.length, all.length + 1]) {
          const walked: Array<number> = []
          let after = 0
          for (;;) {
            const page = yield* log.read(EventFilter.all, { after, limit })
            walked.push(...page.events.map((e) => e.seq))
            expect(page.events.length).toBeLessThanOrEqual(limit)
            if (page.next === undefined) break
            after = page.next
          }
          expect(walked).toEqual(all.map((e) => e.seq))
        }
        expect((yield* log.read(EventFilter.all, { after: all.length })).events).toEqual([])
        expect((yield* log.read({ buildRequestIds: ["b1"] }, { after: 2, limit: 2 })).events.map((e) => e.seq)).toEqual(
          expected((e) => e.buildRequestId === "b1")
            .filter((seq) => seq > 2)
            .slice(0, 2)
        )
      })
    )

    test(
      "stream returns every matching event across many pages",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const events = Array.from({ length: 2500 }, (_, i) => ev.delegated(`sales/date=${i}`, "b1", "b0", "historical"))
        yield* log.append(events)
        const streamed = yield* Stream.runCollect(log.stream(EventFilter.all))
        expect(Chunk.toReadonlyArray(streamed).map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
        const after = yield* Stream.runCollect(log.stream({ refPrefixes: ["sales/date=24"] }, { after: 2000 }))
        expect(Chunk.size(after)).toBe(100)
      })
    )

    test(
      "tail delivers every event exactly once, in order, while appends race its start and a slow consumer",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const batch = (from: number, n: number) =>
          Array.from({ length: n }, (_, i) => ev.delegated(`sales/date=${from + i}`, "b1", "b0", "active"))
        yield* log.append(batch(0, 40))
        const total = 300
        const tail = yield* log.tail(EventFilter.all).pipe(
          Stream.take(total),
          Stream.tap((e) => (e.seq % 50 === 0 ? Effect.sleep("20 millis") : Effect.void)),
          Stream.runCollect,
          Effect.fork
        )
        let written = 40
        const sizes = [1, 7, 1, 30, 2, 1, 50, 3, 5, 60, 1, 20, 40, 7, 33]
        for (const size of sizes) {
          yield* Effect.fork(log.append(batch(written, size)))
          written += size
          yield* Effect.sleep("2 millis")
        }
        expect(written).toBe(total + 1)
        const seqs = Chunk.toReadonlyArray(yield* Fiber.join(tail)).map((e) => e.seq)
        expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1))

        // A filtered tail from a cursor sees only its events, then the ones appended later.
        const filtered = yield* log
          .tail({ refPrefixes: ["late/"] }, { after: 10 })
          .pipe(Stream.take(2), Stream.runCollect, Effect.fork)
        yield* log.append([ev.delegated("late/a=1", "b1", "b0", "active")])
        yield* log.append(batch(1000, 3))
        yield* log.append([ev.delegated("late/a=2", "b1", "b0", "active")])
        const late = Chunk.toReadonlyArray(yield* Fiber.join(filtered))
        expect(late.map((e) => (e.event._tag === "Delegated" ? e.event.partitionRef : ""))).toEqual([
          "late/a=1",
          "late/a=2"
        ])
      }),
      60_000
    )

    test(
      "of concurrent appends claiming one partition exactly one wins; the others learn the holder",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const contenders = 8
        const results = yield* Effect.forEach(
          Array.from({ length: contenders }, (_, i) => i),
          (i) =>
            Effect.either(
              log.append(ev.claim({ run: `r${i}`, build: `b${i}`, outputs: ["sales/date=1"], lease: ev.liveLease() }), {
                expect: [new Expectation.Claimable({ ref: ref("sales/date=1") })]
              })
            ),
          { concurrency: "unbounded" }
        )
        const winners = results.filter(Either.isRight)
        expect(winners).toHaveLength(1)
        const [row] = (yield* log.partitions({ refs: ["sales/date=1"] })).items
        for (const result of results) {
          if (Either.isLeft(result)) {
            const error = result.left
            expect(error).toBeInstanceOf(Errors.AppendConflict)
            if (error._tag === "AppendConflict") {
              expect(error.partition?.jobRunId).toBe(row?.jobRunId)
              expect(error.message).toContain(`job run ${row?.jobRunId}`)
            }
          }
        }
        expect(row?.status).toBe("SCHEDULED")
        expect(yield* log.head).toBe(2)
      })
    )

    test(
      "a claim whose lease expired can be taken over, and the old holder can no longer finish",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const old = { run: "old", build: "b1", outputs: ["sales/date=1"], lease: ev.liveLease() }
        yield* log.append(ev.claim(old))
        // A heartbeat into the past is how a lease runs out without waiting for it.
        yield* log.append([ev.heartbeat("old", "b1", ev.expiredLease())])
        const fresh = { run: "new", build: "b2", outputs: ["sales/date=1"], lease: ev.liveLease() }
        const claimable = [new Expectation.Claimable({ ref: ref("sales/date=1") })]
        yield* log.append(ev.claim(fresh), { expect: claimable })
        const [row] = (yield* log.partitions({ refs: ["sales/date=1"] })).items
        expect(row).toMatchObject({ status: "SCHEDULED", jobRunId: "new", buildRequestId: "b2" })

        const late = yield* Effect.flip(log.append(ev.complete(old)))
        expect(late._tag).toBe("InvalidTransition")
        const held = yield* Effect.flip(
          log.append([ev.heartbeat("old", "b1", ev.liveLease())], {
            expect: [new Expectation.HeldBy({ ref: ref("sales/date=1"), jobRunId: "old" })]
          })
        )
        expect(held._tag).toBe("AppendConflict")
        // A live claim is not taken over, even without an explicit expectation.
        const third = { run: "third", build: "b3", outputs: ["sales/date=1"], lease: ev.liveLease() }
        const conflict = yield* Effect.flip(log.append(ev.claim(third)))
        expect(conflict._tag).toBe("AppendConflict")
      })
    )

    test(
      "expectations on status, availability and job runs are checked before writing",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const spec = { run: "r1", build: "b1", outputs: ["sales/date=1"], lease: ev.liveLease() }
        yield* log.append([...ev.claim(spec), ...ev.complete(spec)])
        const [row] = (yield* log.partitions({ refs: ["sales/date=1"] })).items
        expect(row).toMatchObject({ status: "AVAILABLE", jobRunId: "r1", jobVersion: "1", manifest: { rows: 1 } })
        const seq = row!.lastAvailableSeq!
        const note = () => [ev.delegated("sales/date=1", "b2", "b1", "historical")]
        const sales1 = ref("sales/date=1")
        yield* log.append(note(), { expect: [new Expectation.AvailableAtOrBefore({ ref: sales1, maxSeq: seq })] })
        const stale = yield* Effect.flip(
          log.append(note(), { expect: [new Expectation.AvailableAtOrBefore({ ref: sales1, maxSeq: seq - 1 })] })
        )
        expect(stale.message).toContain("rebuilt")
        yield* log.append(note(), { expect: [new Expectation.PartitionIs({ ref: sales1, statuses: ["AVAILABLE"] })] })
        const unknown = yield* Effect.flip(
          log.append(note(), { expect: [new Expectation.PartitionIs({ ref: ref("x/y=1"), statuses: ["AVAILABLE"] })] })
        )
        expect(unknown.message).toContain("UNKNOWN")
        yield* log.append(note(), { expect: [new Expectation.JobRunIs({ jobRunId: "r1", statuses: ["COMPLETED"] })] })
        yield* log.append(note(), { expect: [new Expectation.JobRunIs({ jobRunId: "r9", statuses: ["ABSENT"] })] })
        const running = yield* Effect.flip(
          log.append(note(), { expect: [new Expectation.JobRunIs({ jobRunId: "r1", statuses: ["RUNNING"] })] })
        )
        expect(running._tag).toBe("AppendConflict")
        if (running._tag === "AppendConflict") expect(running.jobRun?.status).toBe("COMPLETED")
      })
    )

    test(
      "a decision conditional on the rows it judged is refused once any of them changed",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const sales1 = ref("sales/date=1")
        const note = () => [ev.delegated("sales/date=1", "b2", "b1", "historical")]
        // Never seen: Unchanged at 0, and not rebuilt after any seq.
        yield* log.append(note(), { expect: [new Expectation.Unchanged({ ref: sales1, updatedSeq: 0 })] })
        yield* log.append(note(), { expect: [new Expectation.NotRebuiltAfter({ ref: sales1, seq: 0 })] })
        const spec = { run: "r1", build: "b1", outputs: ["sales/date=1"], lease: ev.liveLease() }
        yield* log.append(ev.claim(spec))
        const judged = (yield* log.partitions({ refs: [sales1] })).items[0]!
        // A claim judged before r1 claimed it ("never built") is refused, with the row that changed.
        const late = yield* Effect.flip(
          log.append(note(), { expect: [new Expectation.Unchanged({ ref: sales1, updatedSeq: 0 })] })
        )
        expect(late._tag).toBe("AppendConflict")
        if (late._tag === "AppendConflict") expect(late.partition?.jobRunId).toBe("r1")
        expect(late.message).toContain(`since seq ${judged.updatedSeq}`)
        yield* log.append(note(), {
          expect: [new Expectation.Unchanged({ ref: sales1, updatedSeq: judged.updatedSeq })]
        })
        yield* log.append(ev.complete(spec))
        const built = (yield* log.partitions({ refs: [sales1] })).items[0]!
        const moved = yield* Effect.flip(
          log.append(note(), { expect: [new Expectation.Unchanged({ ref: sales1, updatedSeq: judged.updatedSeq })] })
        )
        expect(moved._tag).toBe("AppendConflict")
        // Rebuilt after the seq a reuse judged its inputs at: refused; at or before: accepted.
        const seq = built.lastAvailableSeq!
        yield* log.append(note(), { expect: [new Expectation.NotRebuiltAfter({ ref: sales1, seq })] })
        const rebuilt = yield* Effect.flip(
          log.append(note(), { expect: [new Expectation.NotRebuiltAfter({ ref: sales1, seq: seq - 1 })] })
        )
        expect(rebuilt.message).toContain(`AVAILABLE again at seq ${seq}`)
      })
    )

    test(
      "every event records when the store appended it, one time per append",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const before = Date.now()
        const first = yield* log.append([ev.delegated("sales/date=1", "b2", "b1", "historical")])
        const second = yield* log.append([
          ev.delegated("sales/date=2", "b2", "b1", "historical"),
          ev.delegated("sales/date=3", "b2", "b1", "historical")
        ])
        const after = Date.now()
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
        expect(events.map((e) => e.appendedAt)).toEqual(
          [...first.appended, ...second.appended].map((e) => e.appendedAt)
        )
        // The store's clock: for the stores of this suite, one on this machine.
        for (const { appendedAt } of events) {
          expect(appendedAt).toBeGreaterThanOrEqual(before - 1000)
          expect(appendedAt).toBeLessThanOrEqual(after + 1000)
        }
        expect(second.appended[0]!.appendedAt).toBe(second.appended[1]!.appendedAt)
        expect(second.appended[0]!.appendedAt).toBeGreaterThanOrEqual(first.appended[0]!.appendedAt)
      })
    )

    test(
      "views answer by ref, status and prefix, in pages",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        yield* log.append([ev.received("b1"), ev.received("b2"), ev.buildStatus("b2", "EXECUTING")])
        for (let i = 0; i < 5; i++) {
          const spec = { run: `r${i}`, build: "b1", outputs: [`sales/date=${i}`], lease: ev.liveLease() }
          yield* log.append(i < 3 ? [...ev.claim(spec), ...ev.complete(spec)] : ev.claim(spec))
        }
        yield* log.append([ev.source("raw/date=1", "b2"), ev.invalidated("sales/date=0", "b2")])
        const refs = (query: Queries.PartitionQuery) =>
          Effect.map(log.partitions(query), (page) => page.items.map((row) => row.ref))
        expect(yield* refs({ statuses: ["AVAILABLE"] })).toEqual(["raw/date=1", "sales/date=1", "sales/date=2"])
        expect(yield* refs({ statuses: ["STALE", "SCHEDULED"] })).toEqual([
          "sales/date=0",
          "sales/date=3",
          "sales/date=4"
        ])
        expect(yield* refs({ prefix: "sales/" })).toHaveLength(5)
        expect(yield* refs({ prefix: "sales/", statuses: ["AVAILABLE"], after: "sales/date=1" })).toEqual([
          "sales/date=2"
        ])
        expect(yield* refs({ refs: ["sales/date=4", "nope/x=1", "raw/date=1"] })).toEqual([
          "raw/date=1",
          "sales/date=4"
        ])
        const page = yield* log.partitions({ prefix: "sales/", limit: 2 })
        expect(page.items.map((row) => row.ref)).toEqual(["sales/date=0", "sales/date=1"])
        expect(page.next).toBe("sales/date=1")
        expect((yield* log.partitions({ prefix: "sales/", limit: 5 })).next).toBeUndefined()

        const runs = yield* log.jobRuns({ buildRequestIds: ["b1"], statuses: ["COMPLETED"] })
        expect(runs.items.map((row) => row.jobRunId)).toEqual(["r0", "r1", "r2"])
        expect((yield* log.jobRuns({ jobNames: ["job"], limit: 4 })).next).toBe("r3")
        expect((yield* log.buildRequests({ statuses: ["EXECUTING"] })).items.map((row) => row.buildRequestId)).toEqual([
          "b2"
        ])
        expect((yield* log.buildRequests({ buildRequestIds: ["b1", "b3"] })).items).toHaveLength(1)
      })
    )

    test(
      "job runs by input: what was built from a partition, as its runs now read",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        yield* log.append([ev.received("b1")])
        const lease = ev.liveLease()
        const both = { run: "r0", build: "b1", outputs: ["clean/d=1"], inputs: ["raw/d=a", "raw/d=b"], lease }
        const one = { run: "r1", build: "b1", outputs: ["clean/d=2"], inputs: ["raw/d=b"], lease }
        const none = { run: "r2", build: "b1", outputs: ["raw/d=c"], lease }
        yield* log.append([...ev.claim(both), ...ev.complete(both)])
        // r1's first attempt fails; its retry is planned with other inputs (missing dependencies found,
        // a graph changed under a resumed build): it is found by the inputs it has now, alone.
        yield* log.append([...ev.claim(one), ev.jobRun(one, "FAILED"), ev.partition("clean/d=2", "FAILED", "b1", "r1")])
        const replanned = { ...one, inputs: ["raw/d=c"], attempt: 2 }
        yield* log.append([...ev.claim(replanned), ...ev.complete(replanned)])
        yield* log.append([...ev.claim(none), ...ev.complete(none)])
        const ids = (query: Queries.JobRunQuery) =>
          Effect.map(log.jobRuns(query), (page) => page.items.map((row) => row.jobRunId))
        expect(yield* ids({ inputs: ["raw/d=b"] })).toEqual(["r0"])
        expect(yield* ids({ inputs: ["raw/d=c"] })).toEqual(["r1"])
        expect(yield* ids({ inputs: ["raw/d=a", "raw/d=c"] })).toEqual(["r0", "r1"])
        expect(yield* ids({ inputs: ["raw/d=a", "raw/d=c"], statuses: ["COMPLETED"], after: "r0" })).toEqual(["r1"])
        expect(yield* ids({ inputs: [] })).toEqual([])
        expect((yield* log.jobRuns({ inputs: ["raw/d=a", "raw/d=c"], limit: 1 })).next).toBe("r0")
      })
    )

    it.live.prop(
      "views equal the reducer over random histories, and refusals match the reference",
      [Arbitrary.history],
      ([history]) =>
        Effect.gen(function* () {
          const reference = yield* InMemoryEventLog.make
          const log = yield* EventLog.EventLog
          let previous: ReadonlyArray<BuildEvent.BuildEvent> = []
          for (const batch of history) {
            const events = Arbitrary.toEvents(batch.ops, previous)
            const expected = yield* Effect.either(reference.append(events, { expect: batch.expect }))
            const actual = yield* Effect.either(log.append(events, { expect: batch.expect }))
            expect(outcome(actual)).toBe(outcome(expected))
            if (Either.isRight(actual) && Either.isRight(expected)) {
              expect(actual.right.appended.map((e) => e.seq)).toEqual(expected.right.appended.map((e) => e.seq))
            }
            previous = events
          }
          const state = yield* snapshot
          expectViewsOfReplay(state)
          const expectedState = yield* Effect.provideService(snapshot, EventLog.EventLog, reference)
          // Append times are each store's own clock; everything else is the reference's, exactly.
          const withoutTimes = ({ events, ...rest }: typeof state) => ({
            ...rest,
            events: events.map(({ seq, event }) => ({ seq, event }))
          })
          expect(withoutTimes(state)).toEqual(withoutTimes(expectedState))
          const inputs = [...new Set(expectedState.jobRuns.flatMap((row) => row.inputs))].slice(0, 3)
          for (const query of [{ inputs }, { inputs: inputs.slice(0, 1), statuses: ["COMPLETED" as const] }]) {
            const byInput = (of: EventLog.EventLogShape) =>
              Effect.map(of.jobRuns(query), (page) => page.items.map((row) => row.jobRunId))
            expect(yield* byInput(log)).toEqual(yield* byInput(reference))
          }
        }).pipe(Effect.provide(store.fresh)),
      { timeout: 300_000, fastCheck: { numRuns: store.propertyRuns ?? 200 } }
    )

    it.live.prop(
      "random appends racing at once: each lands whole at the seqs it reports or is refused alone, and views equal the reducer",
      [Arbitrary.history],
      ([history]) =>
        Effect.gen(function* () {
          const log = yield* EventLog.EventLog
          let previous: ReadonlyArray<BuildEvent.BuildEvent> = []
          const appends = history.map((batch) => {
            const events = Arbitrary.toEvents(batch.ops, previous)
            previous = events
            return Effect.either(log.append(events, { expect: batch.expect }))
          })
          const results = yield* Effect.all(appends, { concurrency: "unbounded" })
          for (const result of results) {
            if (Either.isLeft(result)) expect(["AppendConflict", "InvalidTransition"]).toContain(result.left._tag)
          }
          const state = yield* snapshot
          expect(state.events.map((e) => e.seq)).toEqual(Array.from({ length: state.head }, (_, i) => i + 1))
          const reported = results
            .flatMap((result) => (Either.isRight(result) ? result.right.appended : []))
            .map(({ seq, event }) => [seq, event.eventId] as const)
            .sort(([a], [b]) => a - b)
          expect(reported).toEqual(state.events.map(({ seq, event }) => [seq, event.eventId] as const))
          expectViewsOfReplay(state)
        }).pipe(Effect.provide(store.fresh)),
      { timeout: 300_000, fastCheck: { numRuns: Math.ceil((store.propertyRuns ?? 200) / 4) } }
    )

    test(
      "a batch of 100,000 events lands whole",
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const n = 100_000
        const events: Array<BuildEvent.BuildEvent> = [ev.received("big")]
        for (let i = 1; i < n; i++) events.push(ev.partition(`hourly/h=${i}`, "REQUESTED", "big"))
        const result = yield* log.append(events)
        expect(result.head).toBe(n)
        expect(result.appended).toHaveLength(n)
        const count = yield* Stream.runCount(log.stream({ buildRequestIds: ["big"] }))
        expect(count).toBe(n)
        const last = yield* log.read({ partitionRefs: [`hourly/h=${n - 1}`] })
        expect(last.events.map((e) => e.seq)).toEqual([n])
      }),
      300_000
    )
  })
