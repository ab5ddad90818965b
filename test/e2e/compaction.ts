/**
 * Retention on a SQL log: `Compaction.run` moves old events of finished builds out of the log while
 * every view stays what the reducer says over the whole history (archive ++ log). Written once,
 * run on SQLite and PostgreSQL.
 */
import { describe, expect, it } from "@effect/vitest"
import { Retention } from "@tessera/cli"
import {
  type BuildEvent,
  Compaction,
  EventFilter,
  EventLog,
  Projection,
  Queries,
  Status,
  type Views
} from "@tessera/core"
import { Chunk, Clock, Effect, Either, type Layer, type Scope, Stream } from "effect"
import fc from "fast-check"
import * as Arbitrary from "../src/arbitrary.js"
import { build } from "../src/builds.js"

export interface Subject {
  /** A fresh, empty store for the scope, and the bytes it takes on disk when it is a file. */
  readonly open: Effect.Effect<
    {
      readonly layer: Layer.Layer<EventLog.EventLog | Compaction.Compactor, unknown>
      readonly bytes?: Effect.Effect<number> | undefined
    },
    never,
    Scope.Scope
  >
  readonly propertyRuns: number
}

/** An archive in memory with the transaction semantics of Delta's `txn`: a version written twice lands once. */
export const memoryArchive = () => {
  const events: Array<BuildEvent.LoggedEvent> = []
  const versions = new Map<string, number>()
  const archive: Compaction.Archive = {
    name: "memory",
    version: (appId) => Effect.sync(() => versions.get(appId) ?? 0),
    write: (written, txn) =>
      Effect.sync(() => {
        if ((versions.get(txn.appId) ?? 0) >= txn.version) return
        events.push(...written)
        versions.set(txn.appId, txn.version)
      })
  }
  return { archive, events }
}

/** Everything a store shows: its events and its views. */
export interface Snapshot {
  readonly events: ReadonlyArray<BuildEvent.LoggedEvent>
  readonly views: {
    readonly partitions: ReadonlyArray<Views.PartitionRow>
    readonly jobRuns: ReadonlyArray<Views.JobRunRow>
    readonly buildRequests: ReadonlyArray<Views.BuildRequestRow>
  }
  readonly head: number
}

export const snapshot: Effect.Effect<Snapshot, EventLog.ReadError, EventLog.EventLog> = Effect.gen(function* () {
  const log = yield* EventLog.EventLog
  const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
  const partitions = yield* Queries.allPages((after) => log.partitions({ after }))
  const jobRuns = yield* Queries.allPages((after) => log.jobRuns({ after }))
  const buildRequests = yield* Queries.allPages((after) => log.buildRequests({ after }))
  return { events, views: { partitions, jobRuns, buildRequests }, head: yield* log.head }
})

const bySeq = (events: Iterable<BuildEvent.LoggedEvent>) => [...events].sort((a, b) => a.seq - b.seq)

const sortedValues = <A>(map: ReadonlyMap<string, A>) =>
  [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row)

/**
 * The invariant after compaction: archive ++ log is the history before it, event for event; the
 * views are unchanged and equal the reducer over that history; only events of terminal builds at or
 * below the bound left the log, and its last event stayed.
 */
export const checkCompacted = (
  before: Snapshot,
  after: Snapshot,
  archived: ReadonlyArray<BuildEvent.LoggedEvent>,
  through: number
) => {
  const merged = bySeq([...archived, ...after.events])
  expect(merged.map((e) => e.seq)).toEqual(before.events.map((e) => e.seq))
  expect(merged).toEqual(before.events)
  expect(after.views).toEqual(before.views)
  expect(after.head).toBe(before.head)
  const replayed = Either.getOrThrow(Projection.replay(merged))
  expect(after.views.partitions).toEqual(sortedValues(replayed.partitions))
  expect(after.views.jobRuns).toEqual(sortedValues(replayed.jobRuns))
  expect(after.views.buildRequests).toEqual(sortedValues(replayed.buildRequests))
  // Builds go whole: only those that had finished at or before the bound.
  const finished = new Set(
    after.views.buildRequests
      .filter((row) => Status.isTerminalBuildStatus(row.status) && row.updatedSeq <= through)
      .map((row) => row.buildRequestId)
  )
  const kept = new Set(after.events.map((e) => e.seq))
  for (const entry of before.events) {
    if (kept.has(entry.seq)) continue
    expect(finished.has(entry.event.buildRequestId)).toBe(true)
    expect(entry.seq).toBeLessThanOrEqual(through)
    expect(entry.seq).toBeLessThan(before.head)
  }
}

/** The clock in context, stopped at `time`: a simulated moment for appends and the policy, sleeps left real. */
const clockAt = (time: number) =>
  Effect.map(
    Effect.clock,
    (clock): Clock.Clock => ({
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => time,
      currentTimeMillis: Effect.succeed(time),
      unsafeCurrentTimeNanos: () => BigInt(time) * 1_000_000n,
      currentTimeNanos: Effect.succeed(BigInt(time) * 1_000_000n),
      sleep: (duration) => clock.sleep(duration)
    })
  )

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

export const compactionSuite = (name: string, subject: Subject) =>
  describe(`compaction: ${name}`, () => {
    const withStore = <A, E>(body: Effect.Effect<A, E, EventLog.EventLog | Compaction.Compactor>) =>
      Effect.gen(function* () {
        const { layer } = yield* subject.open
        return yield* Effect.provide(body, layer)
      })

    it.live.prop(
      "views == reducer(archive ++ log) over random histories, bounds and chunk sizes",
      [Arbitrary.history, fc.nat({ max: 90 }), fc.integer({ min: 1, max: 4 })],
      ([history, bound, chunkSize]) =>
        Effect.scoped(
          withStore(
            Effect.gen(function* () {
              const log = yield* EventLog.EventLog
              let previous: ReadonlyArray<BuildEvent.BuildEvent> = []
              for (const batch of history) {
                const events = Arbitrary.toEvents(batch.ops, previous)
                yield* Effect.either(log.append(events, { expect: batch.expect }))
                previous = events
              }
              const before = yield* snapshot
              const { archive, events } = memoryArchive()
              const result = yield* Compaction.run({ _tag: "Seq", seq: bound }, { archive, chunkSize })
              checkCompacted(before, yield* snapshot, events, result.through)
              expect(result.archived).toBe(events.length)
              expect(result.removed).toBe(events.length)
            })
          )
        ),
      { timeout: 300_000, fastCheck: { numRuns: subject.propertyRuns } }
    )

    it.scopedLive("reads, tails and appends after compaction; running builds keep every event", () =>
      withStore(
        Effect.gen(function* () {
          const log = yield* EventLog.EventLog
          const compactor = yield* Compaction.Compactor
          const now = Date.now()
          for (let i = 0; i < 3; i++) yield* log.append(build(`old-${i}`, now - 3 * DAY + i * MINUTE))
          yield* log.append(build("running", now - 3 * DAY, { dataset: "live" }, false))
          yield* log.append(build("recent", now - MINUTE, { dataset: "recent" }))
          const before = yield* snapshot
          const { archive, events } = memoryArchive()
          const result = yield* Compaction.run(
            { _tag: "Age", age: Compaction.parseDuration("1d").pipe(Either.getOrThrow) },
            { archive }
          )
          const after = yield* snapshot
          checkCompacted(before, after, events, result.through)
          // Only the three old builds went, heartbeats counted apart; the running build and today's stay.
          const gone = new Set(events.map((e) => e.event.buildRequestId))
          expect([...gone].sort()).toEqual(["old-0", "old-1", "old-2"])
          expect(result.removed).toBe(before.events.filter((e) => gone.has(e.event.buildRequestId)).length)
          expect(result.heartbeats).toBe(3 * 2 * 2)
          expect((yield* log.read({ buildRequestIds: ["running"] })).events).toHaveLength(
            before.events.filter((e) => e.event.buildRequestId === "running").length
          )
          expect((yield* log.read({ buildRequestIds: ["old-1"] })).events).toEqual([])
          expect(yield* log.compactedThrough!).toBe(result.through)
          const state = yield* compactor.state
          expect(state).toMatchObject({ through: result.through, removed: result.removed, chunks: 2 })
          expect(state.pending).toBeUndefined()
          // A cursor inside the compacted range reads what is left after it, then what is appended later.
          const tail = yield* Effect.fork(
            Stream.runCollect(Stream.take(log.tail(EventFilter.all, { after: 1 }), after.events.length + 1))
          )
          const appended = yield* log.append(build("later", Date.now(), { dataset: "later" }).slice(0, 1))
          expect(appended.appended[0]!.seq).toBe(before.head + 1)
          const tailed = Chunk.toReadonlyArray(yield* tail)
          expect(tailed.map((e) => e.seq)).toEqual([...after.events.map((e) => e.seq), before.head + 1])
          // Again with the same bound: nothing left to move, nothing archived twice.
          const again = yield* Compaction.run(
            { _tag: "Age", age: Compaction.parseDuration("1d").pipe(Either.getOrThrow) },
            { archive }
          )
          expect(again.removed).toBe(0)
          expect(new Set(events.map((e) => e.seq)).size).toBe(events.length)
        })
      )
    )

    it.scopedLive("a compaction stopped between its archive write and its delete is finished by the next run", () =>
      withStore(
        Effect.gen(function* () {
          const log = yield* EventLog.EventLog
          const compactor = yield* Compaction.Compactor
          const at = Date.now() - DAY
          for (let i = 0; i < 6; i++) yield* log.append(build(`b${i}`, at + i))
          const before = yield* snapshot
          const { archive, events } = memoryArchive()
          // A process that dies right after the archive took chunk 2: the delete never runs.
          let chunks = 0
          const dying = Compaction.Compactor.of({
            ...compactor,
            remove: (seqs, options) =>
              options.chunk === 2 && chunks++ === 0
                ? Effect.die("killed mid-compaction")
                : compactor.remove(seqs, options)
          })
          const crashed = yield* Effect.exit(
            Effect.provideService(
              Compaction.run({ _tag: "Seq", seq: before.head }, { archive, chunkSize: 10 }),
              Compaction.Compactor,
              dying
            )
          )
          expect(crashed._tag).toBe("Failure")
          const pending = (yield* compactor.state).pending
          expect(pending?.chunk).toBe(2)
          // Its events are in the archive and still in the log; a run without that archive refuses to go on.
          const refused = yield* Effect.flip(Compaction.run({ _tag: "Seq", seq: before.head }))
          expect(refused._tag).toBe("CompactionPending")
          expect(refused.message).toContain("--archive memory")
          const other = memoryArchive()
          const wrongArchive = yield* Effect.flip(
            Compaction.run({ _tag: "Seq", seq: before.head }, { archive: { ...other.archive, name: "elsewhere" } })
          )
          expect(wrongArchive._tag).toBe("CompactionPending")
          const result = yield* Compaction.run({ _tag: "Seq", seq: before.head }, { archive, chunkSize: 10 })
          checkCompacted(before, yield* snapshot, events, result.through)
          expect((yield* compactor.state).pending).toBeUndefined()
        })
      )
    )

    it.scopedLive(
      "a week of 5-minute builds with the retention policy running hourly stays within a fixed size",
      () =>
        Effect.gen(function* () {
          const { layer, bytes } = yield* subject.open
          yield* Effect.provide(
            Effect.gen(function* () {
              const log = yield* EventLog.EventLog
              const policy = Either.getOrThrow(Retention.parse({ before: "1d", every: "1h" }, "/"))
              const start = Date.UTC(2026, 10, 1)
              const builds = 7 * 24 * 12
              const sizes: Array<{ day: number; bytes: number; events: number }> = []
              for (let i = 0; i < builds; i++) {
                const at = start + i * 5 * MINUTE
                // The simulated time is the time of both: appends judge leases by it, the policy its bound.
                yield* Effect.withClock(log.append(build(`b${i}`, at)), yield* clockAt(at))
                if ((i + 1) % 12 === 0) yield* Effect.withClock(Retention.runOnce(policy), yield* clockAt(at))
                if ((i + 1) % (24 * 12) === 0) {
                  const events = yield* Stream.runCount(log.stream(EventFilter.all))
                  sizes.push({ day: (i + 1) / (24 * 12), bytes: bytes === undefined ? 0 : yield* bytes, events })
                }
              }
              const perBuild = build("x", 0).length
              // Never more than a day and an hour of events stay in the log: 25 hours of 12 builds.
              for (const size of sizes) expect(size.events).toBeLessThanOrEqual(25 * 12 * perBuild)
              expect(sizes[6]!.events).toBeGreaterThanOrEqual(24 * 12 * perBuild)
              if (bytes !== undefined) {
                // From the second day on the file no longer grows with the events: only the views'
                // row per build and per job run (status --build answers for every build) are added.
                for (const size of sizes.slice(1)) {
                  expect(size.bytes).toBeLessThanOrEqual(BYTES_BOUND)
                  expect(size.bytes - sizes[1]!.bytes).toBeLessThanOrEqual(
                    (size.day - 2) * 24 * 12 * VIEW_BYTES_PER_BUILD
                  )
                }
              }
              const views = yield* snapshot
              expect(views.views.buildRequests).toHaveLength(builds)
              expect(views.views.buildRequests.every((row) => row.status === "COMPLETED")).toBe(true)
              expect(views.views.partitions.map((row) => [row.ref, row.status])).toEqual([
                ["sales/run=0", "AVAILABLE"],
                ["sales/run=1", "AVAILABLE"]
              ])
              process.stdout.write(`week on ${name}: ${JSON.stringify(sizes)}\n`)
            }),
            layer
          )
        }),
      300_000
    )
  })

/** The most bytes (file and WAL) a SQLite log of the simulated week may take from its second day on. */
const BYTES_BOUND = 12 * 1024 * 1024

/** What the views add per finished build of two runs (its row, its runs' rows and input index), with room. */
const VIEW_BYTES_PER_BUILD = 1536
