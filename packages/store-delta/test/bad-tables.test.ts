/**
 * Damaged or hostile tables: a read never writes, a damaged log is an error naming the version,
 * something that is not a checkpoint under a checkpoint's name is skipped for the commits, and a
 * log cannot make a reader open files outside the table.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventFilter } from "@tessera/core"
import { Effect, Option, Stream } from "effect"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { append, createTable, DeltaEventLog, loadSnapshot, writeCheckpoint } from "../src/index.js"
import { delegatedEvent, sampleRows, sampleSchema, tempDir } from "./helpers.js"

const listing = (dir: string) => NodeFs.readdir(Path.join(dir, "_delta_log")).then((names) => names.sort())

/** An event log table with a few commits. */
const eventTable = (dir: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const log = yield* DeltaEventLog.make({ path: dir })
      for (let i = 0; i < 3; i++) {
        yield* log.append([delegatedEvent(i)])
      }
    })
  )

describe("Delta tables that are damaged or hostile", () => {
  it.scopedLive("opening an event log whose commit 0 is gone fails naming it, and writes nothing", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* eventTable(dir)
      yield* Effect.promise(() => NodeFs.rm(Path.join(dir, "_delta_log", "00000000000000000000.json")))
      const before = yield* Effect.promise(() => listing(dir))
      const refused = yield* Effect.flip(Effect.scoped(DeltaEventLog.make({ path: dir })))
      expect(refused._tag).toBe("StoreError")
      expect(refused.message).toContain("commit 0 is missing")
      expect(yield* Effect.promise(() => listing(dir))).toEqual(before)
    })
  )

  it.scopedLive("opening an event log only reads: a table the process may read but not write opens and reads", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* eventTable(dir)
      const logDir = Path.join(dir, "_delta_log")
      yield* Effect.acquireRelease(
        Effect.promise(() => NodeFs.chmod(logDir, 0o555)),
        () => Effect.promise(() => NodeFs.chmod(logDir, 0o755))
      )
      const before = yield* Effect.promise(() => listing(dir))
      // Root may write anyway: the folder's mtime shows whether anything was created in it, even briefly.
      const touched = yield* Effect.promise(() => NodeFs.stat(logDir).then((stat) => stat.mtimeMs))
      yield* Effect.sleep("20 millis")
      const log = yield* DeltaEventLog.make({ path: dir })
      expect(yield* Stream.runCount(log.stream(EventFilter.all))).toBe(3)
      expect(yield* Effect.promise(() => listing(dir))).toEqual(before)
      expect(yield* Effect.promise(() => NodeFs.stat(logDir).then((stat) => stat.mtimeMs))).toBe(touched)
    })
  )

  it.scopedLive("a data file under a checkpoint's name is skipped for the JSON commits", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* createTable(dir, { schema: sampleSchema, partitionColumns: ["day"] })
      for (let i = 0; i < 3; i++) yield* append(dir, sampleRows(i * 10, 10))
      const data = (yield* loadSnapshot(dir)).files[0]!.absolutePath
      yield* Effect.promise(() =>
        NodeFs.copyFile(data, Path.join(dir, "_delta_log", "00000000000000000002.checkpoint.parquet"))
      )
      const snapshot = yield* loadSnapshot(dir)
      expect(snapshot.version).toBe(3)
      expect(snapshot.files).toHaveLength(3)
      expect(Option.isNone(snapshot.checkpointVersion)).toBe(true)
      // A real checkpoint at a later version is still used.
      yield* writeCheckpoint(yield* loadSnapshot(dir))
      expect(Option.getOrUndefined((yield* loadSnapshot(dir)).checkpointVersion)).toBe(3)
    })
  )

  for (const path of ["../../../../etc/passwd", "file:///etc/passwd", "/etc/passwd"]) {
    it.scopedLive(`an add of ${path} is refused by default and read only when external files are allowed`, () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* createTable(dir, { schema: sampleSchema, partitionColumns: ["day"] })
        const add = {
          add: {
            path,
            partitionValues: { day: "2026-11-01" },
            size: 1,
            modificationTime: 0,
            dataChange: true
          }
        }
        yield* Effect.promise(() =>
          NodeFs.writeFile(Path.join(dir, "_delta_log", "00000000000000000001.json"), `${JSON.stringify(add)}\n`)
        )
        const refused = yield* Effect.flip(loadSnapshot(dir))
        expect(refused._tag).toBe("DeltaProtocolError")
        expect(refused.message).toContain("outside the table's folder")
        const allowed = yield* loadSnapshot(dir, { allowExternalFiles: true })
        expect(allowed.files.map((file) => file.path)).toEqual([path])
      })
    )
  }
})
