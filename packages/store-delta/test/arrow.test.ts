import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { append, createTable, loadSnapshot, readAll, readArrow } from "../src/index.js"
import { fixture, fixturesPresent } from "./fixtures.js"
import { bySeq, sampleRows, sampleSchema, tempDir } from "./helpers.js"

describe("Arrow read result", () => {
  it.scoped("a written table reads back as an Arrow table with typed columns", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* createTable(path, { schema: sampleSchema, partitionColumns: ["day"] })
      yield* append(path, [...sampleRows(0, 4), ...sampleRows(4, 3, "2026-11-02")])
      const snapshot = yield* loadSnapshot(path)
      const table = yield* readArrow(snapshot)
      const rows = bySeq(yield* readAll(snapshot))
      expect(table.numRows).toBe(7)
      expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
        "seq:Int64",
        "id:Utf8",
        "at:Timestamp<MILLISECOND, UTC>",
        "count:Int32",
        "score:Float64",
        "ok:Bool",
        "note:Utf8",
        "day:Utf8"
      ])
      const bySeqArrow = [...table].map((row) => row.toJSON()).sort((a, b) => Number(a.seq) - Number(b.seq))
      expect(bySeqArrow.map((row) => row.seq)).toEqual(rows.map((row) => row.seq))
      expect(bySeqArrow.map((row) => row.at)).toEqual(rows.map((row) => (row.at as Date).getTime()))
      expect(bySeqArrow.map((row) => row.note)).toEqual(rows.map((row) => row.note))
      const narrow = yield* readArrow(snapshot, { columns: ["id", "day"] })
      expect(narrow.schema.fields.map((f) => f.name)).toEqual(["id", "day"])
      const filtered = yield* readArrow(snapshot, { columns: ["seq"], where: [{ column: "seq", min: 2n, max: 4n }] })
      expect([...filtered].map((row) => row.seq).sort()).toEqual([2n, 3n, 4n])
    })
  )

  // Only with the shared fixtures (skipped, saying so, where ../shared/fixtures/delta is absent).
  it.effect.skipIf(!fixturesPresent)("a Spark-written table with a checkpoint reads as Arrow", () =>
    Effect.gen(function* () {
      const snapshot = yield* loadSnapshot(fixture("delta/basic-with-inserts-deletes-checkpoint"))
      const table = yield* readArrow(snapshot)
      expect(table.numRows).toBe(41)
    })
  )

  it.effect.skipIf(!fixturesPresent)("deletion vectors and column mapping apply to Arrow reads as to rows", () =>
    Effect.gen(function* () {
      for (const path of ["delta/dv-partitioned-with-checkpoint", "delta/table-with-columnmapping-mode-name"]) {
        const snapshot = yield* loadSnapshot(fixture(path))
        const table = yield* readArrow(snapshot)
        const rows = yield* readAll(snapshot)
        expect(table.numRows).toBe(rows.length)
        const first = snapshot.schema.fields[1]!.name
        const column = [...(table.getChild(first) ?? [])].map((value) => value ?? null)
        expect(column.sort()).toEqual(
          rows.map((row) => (row[first] instanceof Uint8Array ? row[first] : (row[first] ?? null))).sort()
        )
      }
    })
  )
})
