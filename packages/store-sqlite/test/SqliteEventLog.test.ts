import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { EventFilter, EventLog, Expectation, InMemoryEventLog, PartitionRef } from "@tessera/core"
import { Chunk, ConfigProvider, Effect, Either, Fiber, Layer, Stream } from "effect"
import { SqliteEventLog } from "../src/index.js"
import { claim, complete, delegated, rawClient, tempDir } from "./helpers.js"

const snapshot = (log: Effect.Effect.Success<ReturnType<typeof SqliteEventLog.make>>) =>
  Effect.all({
    events: Stream.runCollect(log.stream(EventFilter.all)).pipe(Effect.map(Chunk.toReadonlyArray)),
    head: log.head,
    partitions: Effect.map(log.partitions({}), (page) => page.items),
    jobRuns: Effect.map(log.jobRuns({}), (page) => page.items),
    buildRequests: Effect.map(log.buildRequests({}), (page) => page.items)
  })

describe("SqliteEventLog", () => {
  it.scopedLive("keeps the log and its views across a close and a reopen", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      const before = yield* Effect.scoped(
        Effect.gen(function* () {
          const log = yield* SqliteEventLog.make({ filename })
          yield* log.append([...claim("r1", "b1", "sales/date=1"), delegated("sales/date=0")])
          yield* log.append(complete("r1", "b1", "sales/date=1"))
          return yield* snapshot(log)
        })
      )
      expect(before.head).toBe(7)
      const log = yield* SqliteEventLog.make({ filename })
      expect(yield* snapshot(log)).toEqual(before)
      const next = yield* log.append([delegated("sales/date=2")])
      expect(next.appended.map((e) => e.seq)).toEqual([8])
    })
  )

  it.scopedLive("two connections to one file: one claim wins, and a tail on one sees appends made on the other", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      const a = yield* SqliteEventLog.make({ filename, pollInterval: "20 millis" })
      const b = yield* SqliteEventLog.make({ filename, pollInterval: "20 millis" })
      const ref = PartitionRef.unsafeMake("sales/date=1")
      const results = yield* Effect.forEach(
        Array.from({ length: 6 }, (_, i) => i),
        (i) =>
          Effect.either(
            (i % 2 === 0 ? a : b).append(claim(`r${i}`, `b${i}`, ref), {
              expect: [new Expectation.Claimable({ ref })]
            })
          ),
        { concurrency: "unbounded" }
      )
      expect(results.filter(Either.isRight)).toHaveLength(1)
      expect(results.filter(Either.isLeft).map((result) => result.left._tag)).toEqual(Array(5).fill("AppendConflict"))

      const tail = yield* a.tail({ refPrefixes: ["late/"] }).pipe(Stream.take(2), Stream.runCollect, Effect.fork)
      yield* b.append([delegated("late/a=1")])
      yield* b.append([delegated("other/a=1"), delegated("late/a=2")])
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(tail))
      expect(seen.map((e) => e.seq)).toEqual([3, 5])
    })
  )

  it.scopedLive("rows another connection rewrote are read afresh, by reads and by the expectations of appends", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      const a = yield* SqliteEventLog.make({ filename })
      const b = yield* SqliteEventLog.make({ filename })
      const ref = PartitionRef.unsafeMake("sales/date=1")
      // `a` wrote the claim and read it back, so it knows the row decoded; `b` then completes the run.
      yield* a.append(claim("r1", "b1", ref))
      expect((yield* a.partitions({ refs: [ref] })).items[0]?.status).toBe("SCHEDULED")
      yield* b.append(complete("r1", "b1", ref))
      expect((yield* a.partitions({ refs: [ref] })).items[0]?.status).toBe("AVAILABLE")
      expect((yield* a.jobRuns({ jobRunIds: ["r1"] })).items[0]?.status).toBe("COMPLETED")
      // A claim by `a` conditional on the row as `a` first saw it is refused: `b` changed it since.
      const refused = yield* Effect.either(
        a.append(claim("r2", "b2", ref), { expect: [new Expectation.Unchanged({ ref, updatedSeq: 2 })] })
      )
      expect(Either.isLeft(refused) && refused.left._tag).toBe("AppendConflict")
    })
  )

  it.scopedLive("a tail is woken by appends in its own process, without waiting for the poll", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      // A poll this slow would time the test out: only the in-process wake-up can deliver in time.
      const log = yield* SqliteEventLog.make({ filename, pollInterval: "1 hour" })
      const tail = yield* log.tail(EventFilter.all).pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      for (let i = 0; i < 3; i++) {
        yield* Effect.sleep("10 millis")
        yield* log.append([delegated(`sales/date=${i}`)])
      }
      expect(Chunk.toReadonlyArray(yield* Fiber.join(tail)).map((e) => e.seq)).toEqual([1, 2, 3])
    })
  )

  it.scopedLive("prefix filters and queries agree with the reference on refs beyond ASCII", () =>
    Effect.gen(function* () {
      const log = yield* SqliteEventLog.make({ filename: ":memory:" })
      const reference = yield* InMemoryEventLog.make
      const refs = [
        "x/e=1",
        "x/é=1",
        "x/é",
        "x/f",
        "x/\uD7FF=1",
        "x/\uE000=1",
        "x/\u{10FFFF}=1",
        "x/\u{1F600}=1",
        "y/a"
      ]
      const events = refs.map((ref) => delegated(ref))
      yield* log.append(events)
      yield* reference.append(events)
      for (const prefix of ["", "x/", "x/é", "x/e", "x/\uD7FF", "x/\u{10FFFF}", "x/\u{1F600}", "y/", "z"]) {
        const seqs = (page: { readonly events: ReadonlyArray<{ readonly seq: number }> }) =>
          page.events.map((e) => e.seq)
        expect(seqs(yield* log.read({ refPrefixes: [prefix] })), prefix).toEqual(
          seqs(yield* reference.read({ refPrefixes: [prefix] }))
        )
      }
    })
  )

  it("prefixEnd bounds every string with the prefix, in code point order", () => {
    expect(SqliteEventLog.prefixEnd("")).toBeUndefined()
    expect(SqliteEventLog.prefixEnd("sales/")).toBe("sales0")
    expect(SqliteEventLog.prefixEnd("a\uD7FF")).toBe("a\uE000")
    expect(SqliteEventLog.prefixEnd("a\u{10FFFF}")).toBe("b")
    expect(SqliteEventLog.prefixEnd("\u{10FFFF}")).toBeUndefined()
  })

  it.scopedLive("stores events and rows as plain JSON with the schema version, no key transforms", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      yield* Effect.scoped(
        Effect.flatMap(SqliteEventLog.make({ filename }), (log) => log.append(claim("r1", "b1", "sales/date=1")))
      )
      const sql = yield* rawClient(filename)
      const [event] = yield* sql<{ payload: string; kind: string; job_run_id: string }>`
        SELECT payload, kind, job_run_id FROM events WHERE seq = 1`
      expect(JSON.parse(event!.payload)).toMatchObject({ v: 1, _tag: "JobRunStatusChanged", jobRunId: "r1" })
      expect(event).toMatchObject({ kind: "JobRunStatusChanged", job_run_id: "r1" })
      const [row] = yield* sql<{ data: string; status: string }>`SELECT data, status FROM partitions`
      expect(JSON.parse(row!.data)).toMatchObject({ ref: "sales/date=1", status: "SCHEDULED", jobRunId: "r1" })
      expect(row!.status).toBe("SCHEDULED")
      const [mode] = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
      expect(mode!.journal_mode).toBe("wal")
    })
  )

  it.scopedLive("layerConfig opens TESSERA_SQLITE_PATH, creating its directories", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "nested", ".tessera", "events.db")
      const provider = ConfigProvider.fromMap(
        new Map([
          ["TESSERA_SQLITE_PATH", filename],
          ["TESSERA_SQLITE_POLL_INTERVAL", "50 millis"]
        ])
      )
      const log = yield* Layer.build(SqliteEventLog.layerConfig).pipe(Effect.withConfigProvider(provider))
      yield* EventLog.EventLog.pipe(
        Effect.flatMap((log) => log.append([delegated("a/b=1")])),
        Effect.provide(log)
      )
      expect(fs.existsSync(filename)).toBe(true)
    })
  )
})
