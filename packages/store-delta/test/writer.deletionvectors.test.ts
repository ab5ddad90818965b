/**
 * Blind appends to a table with deletion vectors (Databricks' default for new tables), on a copy of a
 * Spark-written fixture: appended files carry no vector, a checkpoint this writer writes carries every
 * add's vector (so no deleted row comes back), and vacuum keeps the vectors active files use.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { append, countRows, loadSnapshot, readAll, type Snapshot, vacuum, writeCheckpoint } from "../src/index.js"
import { readParquetRows } from "../src/reader/Parquet.js"
import { fixture, fixturesPresent } from "./fixtures.js"
import { tempDir } from "./helpers.js"

const vectors = (snapshot: Snapshot) =>
  snapshot.files
    .map((file) => [file.path, file.add.deletionVector ?? null] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1))

const byValue = (rows: ReadonlyArray<Record<string, unknown>>) =>
  rows.map((row) => `${row.part}/${row.col1}/${row.col2}`).sort()

describe("appending to a deletion-vector table", () => {
  // Only with the shared fixtures (skipped, saying so, where ../shared/fixtures/delta is absent).
  it.scoped.skipIf(!fixturesPresent)(
    "appends carry no vector; the writer's checkpoint keeps every vector; vacuum keeps the vectors in use",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const path = Path.join(dir, "table")
        yield* Effect.promise(() =>
          NodeFs.cp(fixture("delta/dv-partitioned-with-checkpoint"), path, { recursive: true })
        )
        const before = yield* loadSnapshot(path)
        expect(before.files.some((file) => file.add.deletionVector !== undefined)).toBe(true)
        const rowsBefore = yield* readAll(before)
        const added = [
          { part: 3, col1: 1000, col2: "appended-a" },
          { part: 42, col1: 1001, col2: null }
        ]
        const result = yield* append(path, added)
        const version = Option.getOrThrow(result.version)
        expect(result.files.every((add) => add.deletionVector === undefined)).toBe(true)
        const appended = yield* loadSnapshot(path)
        expect(byValue(yield* readAll(appended))).toEqual(byValue([...rowsBefore, ...added]))

        // As of the fixture's own time, so its tombstones (and their vectors) are inside the retention too.
        yield* writeCheckpoint(appended, 0)
        const checkpointed = yield* loadSnapshot(path)
        expect(Option.getOrThrow(checkpointed.checkpointVersion)).toBe(version)
        expect(vectors(checkpointed)).toEqual(vectors(appended))
        const tombstones = (snapshot: Snapshot) =>
          snapshot.tombstones.map((remove) => [remove.path, remove.deletionVector ?? null] as const).sort()
        expect(appended.tombstones.some((remove) => remove.deletionVector !== undefined)).toBe(true)
        expect(tombstones(checkpointed)).toEqual(tombstones(appended))
        expect(byValue(yield* readAll(checkpointed))).toEqual(byValue([...rowsBefore, ...added]))
        expect(yield* countRows(checkpointed)).toBe(rowsBefore.length + added.length)
        // The checkpoint file itself holds the vectors, as other readers will read them.
        const rows = yield* readParquetRows(
          Path.join(path, "_delta_log", `${String(version).padStart(20, "0")}.checkpoint.parquet`)
        )
        const withVector = rows.filter((row) => (row.add as { deletionVector?: unknown } | null)?.deletionVector)
        expect(withVector.length).toBe(before.files.filter((file) => file.add.deletionVector !== undefined).length)

        // Everything unreferenced goes; the vectors of active files stay, and the table reads the same.
        const { deleted } = yield* vacuum(path, { retentionMs: 0, now: Date.now() + 1000 })
        expect(deleted.some((file) => file.startsWith("deletion_vector_"))).toBe(true)
        const vacuumed = yield* loadSnapshot(path)
        expect(byValue(yield* readAll(vacuumed))).toEqual(byValue([...rowsBefore, ...added]))
        for (const file of vacuumed.files) {
          const dv = file.add.deletionVector
          if (dv?.storageType === "u") {
            const names = yield* Effect.promise(() => NodeFs.readdir(path))
            expect(names.some((name) => name.startsWith("deletion_vector_"))).toBe(true)
          }
        }
      })
  )
})
