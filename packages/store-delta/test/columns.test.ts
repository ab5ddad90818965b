import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs/promises"
import {
  append,
  createTable,
  loadSnapshot,
  readAll,
  readArrow,
  type Snapshot,
  type StructField,
  type StructType
} from "../src/index.js"
import { tempDir, withDuckDB } from "./helpers.js"
import { checkLog } from "./logChecker.js"

const column = (name: string, type: StructField["type"], nullable = true): StructField => ({
  name,
  type,
  nullable,
  metadata: {}
})

const schema: StructType = {
  type: "struct",
  fields: [
    column("id", "long", false),
    column("n", "long"),
    column("i", "integer"),
    column("x", "double"),
    column("at", "timestamp"),
    column("name", "string"),
    column("ok", "boolean"),
    column("day", "string", false)
  ]
}

// More than two row groups of 100,000 rows, so pages, nulls and statistics cross group boundaries.
const count = 250_003

const micros = (i: number) => BigInt(Date.UTC(2026, 10, 1)) * 1000n + BigInt(i) * 1_000_001n

/** The same rows as whole columns: typed arrays where a column has no nulls, plain arrays with nulls otherwise. */
const columns = () => ({
  columns: {
    id: BigInt64Array.from({ length: count }, (_, i) => BigInt(i)),
    n: Array.from({ length: count }, (_, i) => (i % 5 === 0 ? null : BigInt(-i))),
    i: Array.from({ length: count }, (_, i) => (i % 7 === 0 ? null : i - 100_000)),
    x: Float64Array.from({ length: count }, (_, i) => i / 3),
    at: BigInt64Array.from({ length: count }, (_, i) => micros(i)),
    name: Array.from({ length: count }, (_, i) => (i % 11 === 0 ? null : `name-${i % 500}`)),
    ok: Array.from({ length: count }, (_, i) => (i % 13 === 0 ? null : i % 2 === 0)),
    day: Array.from({ length: count }, (_, i) => (i < 1000 ? "2026-11-01" : "2026-11-02"))
  }
})

const filesOf = (snapshot: Snapshot) =>
  `read_parquet([${snapshot.files.map((file) => `'${file.absolutePath}'`).join(", ")}], hive_partitioning = false)`

describe("writing from columns", () => {
  it.scoped("a column batch of typed and plain arrays reads back exactly, in DuckDB and in readArrow", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* createTable(path, { schema, partitionColumns: ["day"] })
      yield* append(path, columns())
      const snapshot = yield* loadSnapshot(path)
      expect(snapshot.files).toHaveLength(2)
      yield* checkLog(path)
      const [summary, sample] = yield* withDuckDB(async (query) => [
        await query(`SELECT count(*) AS rows, count(n) AS n, count(i) AS i, count(name) AS name, count(ok) AS ok,
          sum(id) AS ids, sum(n) AS ns, sum(i) AS "is", sum(x) AS xs, count(DISTINCT name) AS names,
          min(epoch_us("at")) AS first, max(epoch_us("at")) AS last FROM ${filesOf(snapshot)}`),
        await query(`SELECT id, n, i, x, epoch_us("at") AS at, name, ok FROM ${filesOf(snapshot)}
          WHERE id IN (0, 1, 99999, 100000, 200001, ${count - 1}) ORDER BY id`)
      ])
      const ids = Array.from({ length: count }, (_, i) => i)
      expect(summary![0]).toMatchObject({
        rows: BigInt(count),
        n: BigInt(ids.filter((i) => i % 5 !== 0).length),
        i: BigInt(ids.filter((i) => i % 7 !== 0).length),
        name: BigInt(ids.filter((i) => i % 11 !== 0).length),
        ok: BigInt(ids.filter((i) => i % 13 !== 0).length),
        ids: ids.reduce((sum, i) => sum + BigInt(i), 0n),
        ns: ids.reduce((sum, i) => (i % 5 === 0 ? sum : sum - BigInt(i)), 0n),
        is: BigInt(ids.reduce((sum, i) => (i % 7 === 0 ? sum : sum + i - 100_000), 0)),
        names: 500n,
        first: micros(0),
        last: micros(count - 1)
      })
      const expected = (i: number) => ({
        id: BigInt(i),
        n: i % 5 === 0 ? null : BigInt(-i),
        i: i % 7 === 0 ? null : i - 100_000,
        x: i / 3,
        at: micros(i),
        name: i % 11 === 0 ? null : `name-${i % 500}`,
        ok: i % 13 === 0 ? null : i % 2 === 0
      })
      expect(sample).toEqual([0, 1, 99_999, 100_000, 200_001, count - 1].map(expected))
      // The add's stats bound the microseconds: the min rounded down to the millisecond, the max up.
      const stats = JSON.parse(snapshot.files.find((file) => file.partitionValues.day === "2026-11-02")!.add.stats!)
      expect(stats.minValues.at).toBe(new Date(Math.floor(Number(micros(1000)) / 1000)).toISOString())
      expect(stats.maxValues.at).toBe(new Date(Math.ceil(Number(micros(count - 1)) / 1000)).toISOString())
      expect(stats.nullCount).toMatchObject({ n: ids.filter((i) => i >= 1000 && i % 5 === 0).length })
      // readArrow: the same values, nulls where the batch had them.
      const table = yield* readArrow(snapshot)
      expect(table.numRows).toBe(count)
      const byId = new Map<bigint, number>()
      const idColumn = table.getChild("id")!
      for (let row = 0; row < table.numRows; row++) byId.set(idColumn.get(row) as bigint, row)
      for (const i of [0, 1, 99_999, 100_000, 200_001, count - 1]) {
        const row = table.get(byId.get(BigInt(i))!)!.toJSON()
        const want = expected(i)
        expect({ ...row, at: row.at }).toEqual({
          ...want,
          at: Number(want.at / 1000n),
          day: i < 1000 ? "2026-11-01" : "2026-11-02"
        })
      }
    })
  )

  it.scoped("a filtered readArrow skips row groups by their statistics and returns exactly the matching rows", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* createTable(path, { schema })
      yield* append(path, columns())
      const snapshot = yield* loadSnapshot(path)
      // ids 150,000..150,009 live in the second row group only; the first and third are skipped unread.
      const where = [{ column: "id", min: 150_000n, max: 150_009n }]
      const table = yield* readArrow(snapshot, { columns: ["id", "name"], where })
      expect([...table].map((row) => row.id)).toEqual(Array.from({ length: 10 }, (_, k) => BigInt(150_000 + k)))
      const rows = yield* readAll(snapshot, { columns: ["id", "name"], where })
      expect([...table].map((row) => row.toJSON())).toEqual(rows)
      const none = yield* readArrow(snapshot, { columns: ["id"], where: [{ column: "x", min: 1e9 }] })
      expect(none.numRows).toBe(0)
      // Proof that the other groups go unread: with the first row group's pages overwritten, the
      // filtered read still succeeds and a full read fails.
      const file = snapshot.files[0]!.absolutePath
      yield* Effect.promise(async () => {
        const handle = await NodeFs.open(file, "r+")
        await handle.write(new Uint8Array(4096).fill(0xee), 0, 4096, 4)
        await handle.close()
      })
      const again = yield* readArrow(snapshot, { columns: ["id", "name"], where })
      expect(again.numRows).toBe(10)
      expect((yield* Effect.flip(readArrow(snapshot, { columns: ["id"] })))._tag).toBe("DeltaIOError")
    })
  )

  it.scoped("bad columns are InvalidRows naming the column and row, and write nothing", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* createTable(path, {
        schema: { type: "struct", fields: [column("id", "long", false), column("s", "string")] }
      })
      const uneven = yield* Effect.flip(append(path, { columns: { id: BigInt64Array.of(1n, 2n), s: ["a"] } }))
      expect(uneven._tag).toBe("InvalidRows")
      expect(uneven.message).toContain(`column "s" has 1 values`)
      const missing = yield* Effect.flip(append(path, { columns: { id: [1n, null], s: ["a", "b"] } }))
      expect(missing.message).toContain(`row 1: column "id" is not nullable`)
      const wrong = yield* Effect.flip(append(path, { columns: { id: [1n, 2.5], s: ["a", "b"] } }))
      expect(wrong.message).toContain(`row 1: column "id" does not hold a "long"`)
      const snapshot = yield* loadSnapshot(path)
      expect(snapshot.version).toBe(0)
      expect(snapshot.files).toHaveLength(0)
    })
  )
})
