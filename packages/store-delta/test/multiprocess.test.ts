import { describe, expect, it } from "@effect/vitest"
import { EventCodec, EventFilter, EventLog } from "@tessera/core"
import { Chunk, Effect, Stream } from "effect"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { createTable, DeltaEventLog, loadSnapshot, readAll, vacuum } from "../src/index.js"
import { bySeq, sampleSchema, tempDir } from "./helpers.js"
import { checkLog } from "./logChecker.js"
import { runWorker } from "./processes.js"

const PROCESSES = 4

describe("several OS processes on one table", () => {
  it.scoped(
    "4 processes appending rows at once: contiguous versions, no lost row",
    () =>
      Effect.gen(function* () {
        const path = yield* tempDir
        yield* createTable(path, { schema: sampleSchema, partitionColumns: ["day"] })
        const perProcess = 15
        const exits = yield* Effect.forEach(
          Array.from({ length: PROCESSES }, (_, worker) => worker),
          (worker) => runWorker(["rows", path, String(worker), String(perProcess)]),
          { concurrency: "unbounded" }
        )
        for (const exit of exits) expect(exit.code, exit.stderr).toBe(0)
        const snapshot = yield* loadSnapshot(path)
        expect(snapshot.version).toBe(PROCESSES * perProcess)
        const seqs = bySeq(yield* readAll(snapshot, { columns: ["seq"] })).map((row) => row.seq)
        const expected = Array.from({ length: PROCESSES }, (_, w) =>
          Array.from({ length: perProcess }, (_, i) => BigInt(w * 100_000 + i))
        ).flat()
        expect(seqs).toEqual(expected)
        yield* checkLog(path)
      }),
    120_000
  )

  it.scoped(
    "4 event-log processes appending and claiming: gap-free seq, no lost event, one winner per claim",
    () =>
      Effect.gen(function* () {
        const path = yield* tempDir
        yield* createTable(path, {
          schema: DeltaEventLog.eventSchema,
          partitionColumns: DeltaEventLog.eventPartitionColumns
        })
        const perProcess = 8
        const claims = 5
        const exits = yield* Effect.forEach(
          Array.from({ length: PROCESSES }, (_, worker) => worker),
          (worker) => runWorker(["events", path, String(worker), String(perProcess), String(claims)]),
          { concurrency: "unbounded" }
        )
        for (const exit of exits) expect(exit.code, exit.stderr).toBe(0)
        const won = exits.flatMap((exit) => (JSON.parse(exit.stdout) as { won: Array<number> }).won)
        expect([...won].sort()).toEqual(Array.from({ length: claims }, (_, k) => k))

        const rows = bySeq(yield* readAll(yield* loadSnapshot(path), { columns: ["seq", "payload", "kind"] }))
        expect(rows.map((row) => row.seq)).toEqual(rows.map((_, i) => BigInt(i + 1)))
        expect(rows.length).toBe(PROCESSES * (1 + perProcess) + claims * 2)
        const scheduled = rows
          .map((row) => EventCodec.decode(String(row.payload)))
          .flatMap((decoded) => (decoded._tag === "Right" ? [decoded.right] : []))
          .filter((event) => event._tag === "PartitionStatusChanged" && event.status === "SCHEDULED")
        expect(scheduled.length).toBe(claims)
        yield* checkLog(path)

        // A fresh process view (from the checkpoints the workers wrote) sees the same log.
        const events = yield* Effect.gen(function* () {
          const log = yield* EventLog.EventLog
          return Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
        }).pipe(Effect.provide(DeltaEventLog.layer({ path })))
        expect(events.length).toBe(rows.length)
      }),
    120_000
  )

  it.scoped("a process killed between its data file and its commit leaves the table readable", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* createTable(path, { schema: sampleSchema, partitionColumns: ["day"] })
      const exit = yield* runWorker(["crash", path])
      expect(exit.signal).toBe("SIGKILL")
      const snapshot = yield* loadSnapshot(path)
      expect(snapshot.version).toBe(0)
      expect(yield* readAll(snapshot)).toEqual([])
      const orphans = yield* Effect.promise(() => NodeFs.readdir(Path.join(path, "day=2026-11-01")))
      expect(orphans.length).toBe(1)
      expect((yield* vacuum(path)).deleted).toEqual([])
      const vacuumed = yield* vacuum(path, { retentionMs: 0, now: Date.now() + 1000 })
      expect(vacuumed.deleted).toEqual([`day=2026-11-01/${orphans[0]}`])
      yield* checkLog(path)
    })
  )
})
