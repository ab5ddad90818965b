import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { countRows, loadSnapshot, readAll } from "../src/index.js"
import { expectedTables, fixture, fixturesPresent } from "./fixtures.js"

// Tables this reader refuses, with the feature its error must name.
const refused: Readonly<Record<string, string>> = {
  "delta/table-with-columnmapping-mode-name": "columnMapping",
  "delta/dv-partitioned-with-checkpoint": "deletionVectors",
  "delta-rs/table-with-dv-small": "deletionVectors"
}

// The fixtures are not part of this repo. Without them (no ../shared/fixtures/delta and no
// $TESSERA_DELTA_FIXTURES) this whole file is skipped: that is the only skip in the package.
describe.skipIf(!fixturesPresent)("reader against the shared Delta fixtures", () => {
  for (const table of expectedTables()) {
    const path = fixture(table.path)
    const feature = refused[table.path]
    if (table.error !== undefined) {
      it.effect(`${table.path}: refused (${table.error})`, () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(loadSnapshot(path))
          expect(error._tag).toBe("DeltaProtocolError")
          expect(error.message).toContain(table.error)
        })
      )
    } else if (feature !== undefined) {
      it.effect(`${table.path}: refused, naming ${feature}`, () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(loadSnapshot(path))
          expect(error._tag).toBe("UnsupportedFeature")
          expect(error._tag === "UnsupportedFeature" && error.feature).toBe(feature)
          expect(error.message).toContain(feature)
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

  it.effect("log-replay-latest-metadata-protocol: readable (no reader features), newest schema", () =>
    Effect.gen(function* () {
      const snapshot = yield* loadSnapshot(fixture("delta/log-replay-latest-metadata-protocol"))
      expect(snapshot.protocol.minWriterVersion).toBe(7)
      expect(snapshot.schema.fields.map((field) => field.name)).toEqual(["col1", "col2"])
    })
  )
})
