/**
 * `tessera compact` and `tessera vacuum` on a Delta event log, as an operator runs them: the small
 * files of each day become one, no event is lost, vacuum keeps what retention protects, and other
 * stores are told these commands are Delta's.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventFilter } from "@tessera/core"
import { DeltaEventLog, loadSnapshot } from "@tessera/store-delta"
import { Effect, Stream } from "effect"
import * as path from "node:path"
import { delegated } from "../src/events.js"
import { logFile, runCli, tempDir } from "./cli-process.js"

const appendEvents = (table: string, count: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const log = yield* DeltaEventLog.make({ path: table, compactEvery: 0 })
      for (let i = 0; i < count; i++) yield* log.append([delegated(`sales/date=${i}`, `b${i}`, "b0", "historical")])
    })
  )

describe("tessera compact and vacuum", () => {
  it.scopedLive("compact rewrites a day's small files into one; vacuum keeps files within retention", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const table = path.join(dir, "events")
      yield* appendEvents(table, 12)
      expect((yield* loadSnapshot(table)).files.length).toBe(12)
      const compacted = yield* runCli(["compact", "--store", `delta:${table}`, "--min-files", "3", "--json"], {
        cwd: dir
      })
      expect(compacted.code, compacted.stderr).toBe(0)
      // All twelve events are today's, so one day partition: its twelve files become one.
      expect(JSON.parse(compacted.stdout)).toMatchObject({ removed: 12, added: 1 })
      expect((yield* loadSnapshot(table)).files.length).toBe(1)
      const events = yield* Effect.scoped(
        Effect.flatMap(DeltaEventLog.make({ path: table }), (log) => Stream.runCollect(log.stream(EventFilter.all)))
      )
      expect([...events].map((logged) => logged.event.buildRequestId)).toEqual(
        Array.from({ length: 12 }, (_, i) => `b${i}`)
      )
      const again = yield* runCli(["compact", "--store", `delta:${table}`], { cwd: dir })
      expect(again.stdout).toContain("Nothing to compact")
      // The replaced files were removed just now: an hour's retention keeps them all.
      const vacuumed = yield* runCli(["vacuum", "--store", `delta:${table}`, "--retention", "1", "--json"], {
        cwd: dir
      })
      expect(vacuumed.code, vacuumed.stderr).toBe(0)
      expect(JSON.parse(vacuumed.stdout)).toEqual({ dryRun: false, deleted: [] })
    })
  )

  it.scopedLive("on a SQLite store vacuum exits 2 saying it is for Delta stores, compact asks for --before", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      for (const [command, message] of [
        ["compact", "say what is old enough with --before"],
        ["vacuum", "`tessera vacuum` works on a Delta store"]
      ] as const) {
        const exit = yield* runCli([command, "--store", `sqlite:${logFile(dir)}`], { cwd: dir })
        expect(exit.code).toBe(2)
        expect(exit.stderr).toContain(message)
      }
    })
  )
})
