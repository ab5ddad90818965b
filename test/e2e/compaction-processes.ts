/**
 * Compaction on a live log, with real OS processes: another process appending builds while this one
 * compacts loses nothing and never sees a view go back; a `tessera compact` killed with SIGKILL mid-way
 * leaves a state the next run finishes, with no event archived twice. Written once, run on SQLite and
 * PostgreSQL.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@tessera/cli"
import { Compaction, EventLog, Queries } from "@tessera/core"
import { loadSnapshot, readAll } from "@tessera/store-delta"
import { Effect, Either, Fiber, Layer, Option, type Scope } from "effect"
import { build } from "../src/builds.js"
import { startNode } from "../src/processes.js"
import { bin, tempDir } from "./cli-process.js"
import { checkCompacted, memoryArchive, snapshot } from "./compaction.js"

const appender = fileURLToPath(new URL("./fixtures/appender.ts", import.meta.url))

/** The log and the compactor of `store`, as `tessera compact` opens them. */
const storeLayer = (store: string) => {
  const spec = Either.getOrThrow(Store.parse(store, "/"))
  if (spec._tag === "Delta") throw new Error("compaction needs a SQL store")
  return Layer.merge(Store.layer(spec), Store.compactorLayer(spec))
}

export const liveCompaction = (name: string, freshStore: Effect.Effect<string, never, Scope.Scope>) =>
  describe(`compaction of a live log: ${name}`, () => {
    it.scopedLive(
      "a process appending builds while another compacts: nothing lost, no view goes back",
      () =>
        Effect.gen(function* () {
          const store = yield* freshStore
          yield* Effect.gen(function* () {
            const log = yield* EventLog.EventLog
            // A build that never finishes: none of its events may leave the log.
            yield* log.append(build("stuck", Date.now(), { dataset: "stuck" }, false))
            const child = yield* startNode(["--import", "tsx", appender, store, "100", "live-"])
            const done = yield* Effect.fork(child.exit)
            const { archive, events } = memoryArchive()
            let lastHead = 0
            const seen = new Map<string, number>()
            let runs = 0
            while (runs === 0 || Option.isNone(yield* Fiber.poll(done))) {
              const result = yield* Compaction.run(
                { _tag: "Seq", seq: Number.MAX_SAFE_INTEGER },
                { archive, chunkSize: 7 }
              )
              runs++
              expect(result.head).toBeGreaterThanOrEqual(lastHead)
              lastHead = result.head
              for (const row of yield* Queries.allPages((after) => log.partitions({ after }))) {
                expect(row.updatedSeq).toBeGreaterThanOrEqual(seen.get(row.ref) ?? 0)
                seen.set(row.ref, row.updatedSeq)
              }
              // A policy runs now and then, not back to back: the appender gets the lock in between too.
              yield* Effect.sleep("20 millis")
            }
            const exit = yield* Fiber.join(done)
            expect(exit.code, exit.stderr).toBe(0)
            const before = yield* snapshot
            const last = yield* Compaction.run({ _tag: "Seq", seq: before.head }, { archive })
            const after = yield* snapshot
            // What the appender wrote is in archive ++ log exactly once, and the views are the reducer's over it.
            const history = [...events, ...after.events].sort((a, b) => a.seq - b.seq)
            checkCompacted({ ...before, events: history }, after, events, last.through)
            const appended: ReadonlyArray<string> = JSON.parse(exit.stdout).eventIds
            const ids = new Set<string>(history.map((entry) => entry.event.eventId))
            expect(ids.size).toBe(history.length)
            expect(appended.every((id) => ids.has(id))).toBe(true)
            expect(events.some((e) => e.event.buildRequestId === "stuck")).toBe(false)
            // Every finished build left whole; the one holding the log's last event stays whole.
            const inLog = new Set(after.events.map((e) => e.event.buildRequestId))
            for (const entry of events) expect(inLog.has(entry.event.buildRequestId)).toBe(false)
            expect(runs).toBeGreaterThan(1)
          }).pipe(Effect.provide(storeLayer(store)))
        }),
      300_000
    )

    it.scopedLive(
      "tessera compact killed with SIGKILL mid-way: the next run finishes, nothing archived twice",
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          const store = yield* freshStore
          const archive = path.join(dir, "archive")
          yield* Effect.gen(function* () {
            const log = yield* EventLog.EventLog
            const at = Date.now() - 86_400_000
            // About 40,000 events: eight chunks of 5,000, each a Delta commit, then a delete.
            for (let i = 0; i < 1600; i++) yield* log.append(build(`b${i}`, at + i, { runs: 2, heartbeats: 4 }))
            const before = yield* snapshot
            const args = [
              bin,
              "--store",
              store,
              "compact",
              "--before",
              String(before.head),
              "--archive",
              `delta:${archive}`
            ]
            const child = yield* startNode(args, { cwd: dir })
            const firstChunk = path.join(archive, "_delta_log", `${"1".padStart(20, "0")}.json`)
            while (!fs.existsSync(firstChunk) && child.child.exitCode === null) yield* Effect.sleep("5 millis")
            child.child.kill("SIGKILL")
            const killed = yield* child.exit
            expect(killed.signal, child.output()).toBe("SIGKILL")
            const finished = yield* startNode(args, { cwd: dir })
            const exit = yield* finished.exit
            expect(exit.code, exit.stderr).toBe(0)
            // Each archived row is the event the log had at its seq, once; with what is left, the whole log.
            const rows = yield* readAll(yield* loadSnapshot(archive))
            const original = new Map(before.events.map((e) => [e.seq, e.event.eventId]))
            for (const row of rows) expect(row.eventId).toBe(original.get(Number(row.seq)))
            const after = yield* snapshot
            const seqs = [...rows.map((row) => Number(row.seq)), ...after.events.map((e) => e.seq)].sort(
              (a, b) => a - b
            )
            expect(seqs).toEqual(before.events.map((e) => e.seq))
            expect(after.views).toEqual(before.views)
            expect(yield* Effect.flatMap(Compaction.Compactor, (c) => c.state)).toMatchObject({ pending: undefined })
          }).pipe(Effect.provide(storeLayer(store)))
        }),
      300_000
    )
  })
