/**
 * Appends to column-mapping tables (Databricks' default): data files use the physical names and carry
 * the field ids, stats and partition values are keyed by physical name, and the rows read back by
 * their logical names, on a table of our own in `id` mode and on a copy of a Spark-written `name`-mode
 * fixture holding every type.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { append, loadSnapshot, readAll, type StructType, writeCheckpoint } from "../src/index.js"
import { fixture, fixturesPresent } from "./fixtures.js"
import { field, tempDir } from "./helpers.js"
import { metaData, protocol, writeCommit } from "./tables.js"

const mapped = (id: number) => ({ "delta.columnMapping.id": id, "delta.columnMapping.physicalName": `col-${id}` })

const schema: StructType = {
  type: "struct",
  fields: [
    { ...field("id", "long"), metadata: mapped(1) },
    {
      ...field("info", { type: "struct", fields: [{ ...field("label", "string"), metadata: mapped(3) }] }),
      metadata: mapped(2)
    },
    { ...field("day", "string"), metadata: mapped(4) }
  ]
}

const textOf = (row: unknown) =>
  JSON.stringify(row, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v))
const sorted = (rows: ReadonlyArray<unknown>) => rows.map(textOf).sort()

describe("appending to a column-mapping table", () => {
  it.scoped("id mode: physical names and field ids in the file, stats and partition values by physical name", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* writeCommit(path, 0, [
        protocol(["columnMapping"]),
        metaData(schema, {
          partitionColumns: ["day"],
          configuration: { "delta.columnMapping.mode": "id", "delta.columnMapping.maxColumnId": "4" }
        })
      ])
      const rows = [
        { id: 1n, info: { label: "one" }, day: "x" },
        { id: 2n, info: null, day: "x" }
      ]
      const result = yield* append(path, rows)
      const [add] = result.files
      expect(add?.partitionValues).toEqual({ "col-4": "x" })
      expect(JSON.parse(add?.stats ?? "{}")).toMatchObject({
        numRecords: 2,
        minValues: { "col-1": 1 },
        maxValues: { "col-1": 2 },
        nullCount: { "col-1": 0 }
      })
      const snapshot = yield* loadSnapshot(path)
      const file = snapshot.files[0]!
      const footer = yield* Effect.promise(async () =>
        parquetMetadataAsync(await asyncBufferFromFile(file.absolutePath))
      )
      expect(footer.schema.slice(1).map((element) => [element.name, element.field_id])).toEqual([
        ["col-1", 1],
        ["col-2", 2],
        ["col-3", 3]
      ])
      expect(sorted(yield* readAll(snapshot))).toEqual(sorted(rows))
      yield* writeCheckpoint(snapshot)
      expect(sorted(yield* readAll(yield* loadSnapshot(path)))).toEqual(sorted(rows))
    })
  )

  // Only with the shared fixtures (skipped, saying so, where ../shared/fixtures/delta is absent).
  it.scoped.skipIf(!fixturesPresent)("name mode, every type: a Spark table takes rows as it reads them", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = Path.join(dir, "table")
      yield* Effect.promise(() =>
        NodeFs.cp(fixture("delta/table-with-columnmapping-mode-name"), path, { recursive: true })
      )
      const before = yield* loadSnapshot(path)
      expect(before.columnMapping).toBe("name")
      const rowsBefore = yield* readAll(before)
      // Rows as the reader returns them, but for the one map keyed by arrays: read maps are keyed by
      // their keys' text ("0,1"), which no writer can take back as an array key.
      const added = rowsBefore.slice(0, 2).map((row) => ({ ...row, struct_of_arrays_maps_of_structs: null }))
      const result = yield* append(path, added)
      const version = Option.getOrThrow(result.version)
      const after = yield* loadSnapshot(path)
      expect(sorted(yield* readAll(after))).toEqual(sorted([...rowsBefore, ...added]))
      // The new file's columns are the table's physical names, as the fixture's own files are.
      const physical = new Set(
        before.schema.fields.map((f) => f.metadata["delta.columnMapping.physicalName"] as string)
      )
      for (const add of result.files) {
        const footer = yield* Effect.promise(async () =>
          parquetMetadataAsync(await asyncBufferFromFile(Path.join(path, decodeURIComponent(add.path))))
        )
        const names = footer.schema.slice(1).map((element) => element.name)
        expect(names.some((name) => physical.has(name))).toBe(true)
        expect(names.some((name) => before.schema.fields.some((f) => f.name === name))).toBe(false)
        for (const key of Object.keys(add.partitionValues)) expect(physical.has(key)).toBe(true)
      }
      yield* writeCheckpoint(after)
      const checkpointed = yield* loadSnapshot(path)
      expect(Option.getOrThrow(checkpointed.checkpointVersion)).toBe(version)
      expect(sorted(yield* readAll(checkpointed))).toEqual(sorted([...rowsBefore, ...added]))
    })
  )
})
