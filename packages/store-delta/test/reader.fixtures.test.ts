import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { countRows, loadSnapshot, readAll } from "../src/index.js"
import { expectedTables, fixture, fixturesPresent } from "./fixtures.js"

// The fixtures are not part of this repo. Without them (no ../shared/fixtures/delta and no
// $TESSERA_DELTA_FIXTURES) this whole file is skipped: that is the only skip in the package.
describe.skipIf(!fixturesPresent)("reader against the shared Delta fixtures", () => {
  for (const table of expectedTables()) {
    const path = fixture(table.path)
    if (table.error !== undefined) {
      it.effect(`${table.path}: refused (${table.error})`, () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(loadSnapshot(path))
          expect(error._tag).toBe("DeltaProtocolError")
          expect(error.message).toContain(table.error)
        })
      )
    } else {
      it.effect(`${table.path}: matches expected.json`, () =>
        Effect.gen(function* () {
          const snapshot = yield* loadSnapshot(path)
          expect(snapshot.version).toBe(table.version)
          expect(snapshot.files.length).toBe(table.files)
          if (table.tombstones !== undefined) expect(snapshot.tombstones.length).toBe(table.tombstones)
          expect(Option.getOrUndefined(snapshot.checkpointVersion)).toBe(table.checkpoint)
          if (table.txns !== undefined) {
            const txns = Object.fromEntries(Array.from(snapshot.appTransactions, ([id, txn]) => [id, txn.version]))
            expect(txns).toEqual(table.txns)
          }
          if (table.rows !== null && table.rows !== undefined) {
            expect(yield* countRows(snapshot)).toBe(table.rows)
            expect((yield* readAll(snapshot)).length).toBe(table.rows)
          }
        })
      )
    }
  }

  it.effect("data-reader-partition-values: partition values typed from the schema, path decoded once", () =>
    Effect.gen(function* () {
      const snapshot = yield* loadSnapshot(fixture("delta/data-reader-partition-values"))
      const byValue = new Map((yield* readAll(snapshot)).map((row) => [row.value, row]))
      expect([...byValue.keys()].sort()).toEqual(["0", "1", "2"])
      const one = byValue.get("1")!
      expect(one.as_int).toBe(1)
      expect(one.as_long).toBe(1n)
      expect(one.as_boolean).toBe(false)
      expect(one.as_string_lit_null).toBe("null")
      expect(one.as_timestamp).toEqual(new Date("2021-09-08T11:11:11Z"))
      expect(one.as_date).toEqual(new Date("2021-09-08T00:00:00Z"))
      const nulls = byValue.get("2")!
      for (const column of snapshot.partitionColumns) expect(nulls[column]).toBeNull()
      for (const file of snapshot.files) {
        expect(file.path).not.toContain("%25")
        if (file.partitionValues.as_timestamp !== null) expect(file.path).toContain("11%3A11%3A11")
      }
    })
  )

  it.effect("delta-rs/simple_table: the surviving ids", () =>
    Effect.gen(function* () {
      const rows = yield* readAll(yield* loadSnapshot(fixture("delta-rs/simple_table")))
      expect(rows.map((row) => row.id).sort()).toEqual([5n, 7n, 9n])
    })
  )

  it.effect("delete-re-add: the newest add of a path wins and clears its tombstone", () =>
    Effect.gen(function* () {
      const snapshot = yield* loadSnapshot(fixture("delta/delete-re-add-same-file-different-transactions"))
      const foo = snapshot.files.find((file) => file.path === "foo")
      expect(foo?.add.modificationTime).toBe(1700000000000)
      expect(snapshot.files.map((file) => file.path).sort()).toEqual(["bar", "foo"])
    })
  )

  it.effect("delta-0.8.0-null-partition: a null partition value reads as null", () =>
    Effect.gen(function* () {
      const rows = yield* readAll(yield* loadSnapshot(fixture("delta-rs/delta-0.8.0-null-partition")))
      const sorted = [...rows].sort((a, b) => String(a.k).localeCompare(String(b.k)))
      expect(sorted.map((row) => [row.k, row.v])).toEqual([
        ["A", 1n],
        [null, 2n]
      ])
    })
  )

  it.effect("stats are parsed for every primitive type", () =>
    Effect.gen(function* () {
      const snapshot = yield* loadSnapshot(fixture("delta/data-skipping-basic-stats-all-types"))
      const stats = Option.getOrThrow(snapshot.files[0]!.stats)
      expect(stats.numRecords).toBe(1)
      expect(Object.keys(stats.minValues).length).toBeGreaterThan(5)
    })
  )

  it.effect("time travel: an older version of a checkpointed table replays from an older point", () =>
    Effect.gen(function* () {
      const path = fixture("delta/checkpoint")
      const v5 = yield* loadSnapshot(path, { version: 5 })
      expect(v5.files.map((file) => file.path)).toEqual(["6"])
      expect(Option.isNone(v5.checkpointVersion)).toBe(true)
      const missing = yield* Effect.either(loadSnapshot(path, { version: 99 }))
      expect(Either.isLeft(missing) && missing.left._tag).toBe("VersionNotFound")
    })
  )

  it.effect("table-with-dv-small: the deletion vector removes values 0 and 9 (Databricks)", () =>
    Effect.gen(function* () {
      const rows = yield* readAll(yield* loadSnapshot(fixture("delta-rs/table-with-dv-small")))
      expect(rows.map((row) => row.value).sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    })
  )

  it.effect("dv-partitioned-with-checkpoint: the rows the generator's 15 DELETEs left, partition and data values", () =>
    Effect.gen(function* () {
      const rows = yield* readAll(yield* loadSnapshot(fixture("delta/dv-partitioned-with-checkpoint")))
      // (0 until 50).map(x => (x % 10, x, s"foo${x % 5}")), then DELETE WHERE col1 = n * 2 for n < 15.
      const expected = Array.from({ length: 50 }, (_, x) => ({ part: x % 10, col1: x, col2: `foo${x % 5}` })).filter(
        (row) => !(row.col1 % 2 === 0 && row.col1 < 30)
      )
      expect([...rows].sort((a, b) => Number(a.col1) - Number(b.col1))).toEqual(expected)
    })
  )

  it.effect("table-with-columnmapping-mode-name: every type and nested field by its logical name", () =>
    Effect.gen(function* () {
      const rows = yield* readAll(yield* loadSnapshot(fixture("delta/table-with-columnmapping-mode-name")))
      const byInt = new Map(rows.map((row) => [row.IntegerType, row]))
      // The generator's createRow(i) for i in 0..4, plus a row of nulls.
      for (let i = 0; i < 5; i++) {
        expect(byInt.get(i)).toEqual({
          ByteType: i,
          ShortType: i,
          IntegerType: i,
          LongType: BigInt(i),
          FloatType: i,
          DoubleType: i,
          decimal: i,
          BooleanType: i % 2 === 0,
          StringType: String(i),
          BinaryType: new TextEncoder().encode(String(i)),
          DateType: new Date("2021-11-18T00:00:00Z"),
          TimestampType: new Date(i),
          nested_struct: { aa: String(i), ac: { aca: i } },
          array_of_prims: [i, i + 1],
          array_of_arrays: [
            [i, i + 1],
            [i + 2, i + 3]
          ],
          array_of_map_of_arrays: [{ [i]: [2, 3], [i + 1]: [4, 5] }],
          array_of_structs: [{ ab: i }, { ab: i }],
          struct_of_arrays_maps_of_structs: { aa: [i, i + 1], ab: { [`${i},${i + 1}`]: { aca: i + 2 } } },
          map_of_prims: { [i]: BigInt(i + 1), [i + 2]: BigInt(i + 3) },
          map_of_rows: { [i + 1]: { ab: BigInt(i * 20) } },
          map_of_arrays: { [i]: [i, null, i + 1], [i + 1]: [] },
          map_of_maps: { [i]: { [i]: i }, [i + 1]: { [i + 2]: i } }
        })
      }
      const nulls = byInt.get(null)!
      expect(Object.values(nulls).every((value) => value === null)).toBe(true)
    })
  )

  it.effect("v2-checkpoint-json: ids 0-9 from the sidecars", () =>
    Effect.gen(function* () {
      const rows = yield* readAll(yield* loadSnapshot(fixture("delta/v2-checkpoint-json")))
      expect(rows.map((row) => Number(row.id)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    })
  )

  it.effect("log-replay-latest-metadata-protocol: readable (no reader features), newest schema", () =>
    Effect.gen(function* () {
      const snapshot = yield* loadSnapshot(fixture("delta/log-replay-latest-metadata-protocol"))
      expect(snapshot.protocol.minWriterVersion).toBe(7)
      expect(snapshot.schema.fields.map((field) => field.name)).toEqual(["col1", "col2"])
    })
  )
})
