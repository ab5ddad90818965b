import { describe, expect, it } from "@effect/vitest"
import type * as Arrow from "apache-arrow"
import { Effect } from "effect"
import { append, createTable, type DataType, loadSnapshot, readAll, readArrow, type StructType } from "../src/index.js"
import { decimalPattern } from "../src/reader/Schema.js"
import { decimalOf } from "../src/reader/Values.js"
import { fixture, fixturesPresent } from "./fixtures.js"
import { field as column, tempDir, withDuckDB } from "./helpers.js"

const nestedSchema: StructType = {
  type: "struct",
  fields: [
    column("k", "long", false),
    column("st", {
      type: "struct",
      fields: [
        column("n", "long"),
        column("bin", "binary"),
        column("dec", "decimal(20,4)"),
        column("ts", "timestamp"),
        column("inner", { type: "struct", fields: [column("x", "string")] })
      ]
    }),
    column("arr", {
      type: "array",
      elementType: { type: "struct", fields: [column("a", "integer"), column("b", "binary")] },
      containsNull: true
    }),
    column("m", { type: "map", keyType: "string", valueType: "long", valueContainsNull: true }),
    column("mk", { type: "map", keyType: "long", valueType: "decimal(10,2)", valueContainsNull: true }),
    column("ld", { type: "array", elementType: "decimal(38,2)", containsNull: true })
  ]
}

const nestedRows = [
  {
    k: 0n,
    st: {
      n: 9007199254740993n,
      bin: Uint8Array.of(0xff, 0x00, 0x80),
      dec: "-1234567890123456.0001",
      ts: new Date("2026-11-01T12:34:56.789Z"),
      inner: null
    },
    arr: [{ a: 1, b: Uint8Array.of(1, 2) }, null, { a: null, b: null }],
    m: { x: 1n, y: null },
    mk: { "5": "1.25", "-7": null },
    ld: ["123456789012345678901234567890123456.78", null]
  },
  { k: 1n, st: null, arr: null, m: null, mk: null, ld: null },
  { k: 2n, st: { n: null, bin: null, dec: null, ts: null, inner: { x: "é" } }, arr: [], m: {}, mk: { "9": 7n }, ld: [] }
]

const wordsToBigint = (words: Uint32Array): bigint =>
  BigInt.asIntN(
    128,
    words.reduceRight((acc, word) => (acc << 32n) | BigInt(word), 0n)
  )

/**
 * An Arrow value of `type` as the rows reader returns the same value (maps keyed by the keys' text,
 * decimals as `decimalOf`, dates and timestamps as `Date`), so Arrow and rows compare cell by cell.
 */
const asRowValue = (value: unknown, type: DataType): unknown => {
  if (value === null || value === undefined) return null
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct": {
        const row = value as Arrow.StructRowProxy
        return Object.fromEntries(type.fields.map((field) => [field.name, asRowValue(row[field.name], field.type)]))
      }
      case "array":
        return [...(value as Arrow.Vector)].map((item) => asRowValue(item, type.elementType))
      case "map":
        return Object.fromEntries(
          [...(value as Arrow.MapRow)].map(([key, inner]) => [
            String(asRowValue(key, type.keyType)),
            asRowValue(inner, type.valueType)
          ])
        )
    }
  }
  const decimal = decimalPattern.exec(type)
  if (decimal !== null) return decimalOf(wordsToBigint(value as Uint32Array), Number(decimal[1]), Number(decimal[2]))
  if (type === "date" || type === "timestamp" || type === "timestamp_ntz") return new Date(Number(value))
  return value
}

const arrowRows = (table: Arrow.Table, schema: StructType) =>
  Array.from({ length: table.numRows }, (_, i) =>
    Object.fromEntries(
      schema.fields.map((field) => [field.name, asRowValue(table.getChild(field.name)?.get(i), field.type)])
    )
  )

const byText = (rows: ReadonlyArray<Record<string, unknown>>) =>
  [...rows].sort((a, b) => (textOf(a) < textOf(b) ? -1 : 1))
const textOf = (row: unknown) =>
  JSON.stringify(row, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v))

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex").toUpperCase()

describe("nested columns in Arrow reads", () => {
  it.scoped(
    "struct, array and map columns are Arrow nested vectors with typed children, equal to the rows and to DuckDB",
    () =>
      Effect.gen(function* () {
        const path = yield* tempDir
        yield* createTable(path, { schema: nestedSchema })
        yield* append(path, nestedRows)
        const snapshot = yield* loadSnapshot(path)
        const table = yield* readArrow(snapshot)
        expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
          "k:Int64",
          "st:Struct<{n:Int64, bin:Binary, dec:Decimal[20e+4], ts:Timestamp<MILLISECOND, UTC>, inner:Struct<{x:Utf8}>}>",
          "arr:List<Struct<{a:Int32, b:Binary}>>",
          "m:Map<{key:Utf8, value:Int64}>",
          "mk:Map<{key:Int64, value:Decimal[10e+2]}>",
          "ld:List<Decimal[38e+2]>"
        ])
        const ours = arrowRows(table, nestedSchema)
        expect(byText(ours)).toEqual(byText(yield* readAll(snapshot)))
        const first = ours.find((row) => row.k === 0n)!
        expect(first.st).toEqual({
          n: 9007199254740993n,
          bin: Uint8Array.of(0xff, 0x00, 0x80),
          dec: "-1234567890123456.0001",
          ts: new Date("2026-11-01T12:34:56.789Z"),
          inner: null
        })
        expect(first.arr).toEqual([{ a: 1, b: Uint8Array.of(1, 2) }, null, { a: null, b: null }])
        expect(first.mk).toEqual({ "5": 1.25, "-7": null })
        expect(first.ld).toEqual(["123456789012345678901234567890123456.78", null])
        // Nulls at every depth: a null struct, list and map; null children of a present struct.
        expect(ours.find((row) => row.k === 1n)).toEqual({ k: 1n, st: null, arr: null, m: null, mk: null, ld: null })
        // A nested decimal given as a bigint is the whole number it says, as at the top level.
        expect(ours.find((row) => row.k === 2n)).toMatchObject({ arr: [], m: {}, mk: { "9": 7 }, ld: [] })
        const mapKeys = table.getChild("mk")!.get(0) as Arrow.MapRow
        expect([...mapKeys].map(([key]) => key)).toEqual([5n, -7n])

        const duck = yield* withDuckDB(async (query) => {
          const files = snapshot.files.map((file) => `'${file.absolutePath}'`).join(", ")
          return query(
            `SELECT k, st.n AS n, hex(st.bin) AS bin, CAST(st.dec AS VARCHAR) AS dec, epoch_ms(st.ts) AS ts,
             st.inner.x AS x, [hex(e.b) FOR e IN arr] AS arr_b, [e.a FOR e IN arr] AS arr_a,
             map_keys(m) AS m_keys, map_values(m) AS m_values, map_keys(mk) AS mk_keys,
             [CAST(v AS VARCHAR) FOR v IN map_values(mk)] AS mk_values, [CAST(v AS VARCHAR) FOR v IN ld] AS ld
           FROM read_parquet([${files}]) ORDER BY k`
          )
        })
        const text = (value: unknown) => (value === null ? null : String(value))
        expect(duck).toEqual(
          [...ours]
            .sort((a, b) => Number(a.k) - Number(b.k))
            .map((row) => {
              const st = row.st as Record<string, unknown> | null
              const arr = row.arr as Array<Record<string, unknown> | null> | null
              const m = row.m as Record<string, unknown> | null
              const mk = row.mk as Record<string, unknown> | null
              const ld = row.ld as Array<unknown> | null
              return {
                k: row.k,
                n: st?.n ?? null,
                bin: st?.bin instanceof Uint8Array ? hex(st.bin) : null,
                dec: (st?.dec as string | null) ?? null,
                ts: st?.ts instanceof Date ? BigInt(st.ts.getTime()) : null,
                x: (st?.inner as { x: string } | null)?.x ?? null,
                arr_b: arr === null ? null : arr.map((e) => (e?.b instanceof Uint8Array ? hex(e.b) : null)),
                arr_a: arr === null ? null : arr.map((e) => e?.a ?? null),
                m_keys: m === null ? null : Object.keys(m),
                m_values: m === null ? null : Object.values(m),
                mk_keys: mk === null ? null : Object.keys(mk).map(BigInt),
                mk_values:
                  mk === null ? null : Object.values(mk).map((v) => (v === null ? null : (v as number).toFixed(2))),
                ld: ld === null ? null : ld.map(text)
              }
            })
        )
      })
  )

  // Only with the shared fixtures (skipped, saying so, where ../shared/fixtures/delta is absent).
  it.effect.skipIf(!fixturesPresent)("the fixtures' nested columns read as Arrow equal to their rows", () =>
    Effect.gen(function* () {
      for (const path of ["delta/data-reader-partition-values", "delta/table-with-columnmapping-mode-name"]) {
        const snapshot = yield* loadSnapshot(fixture(path))
        expect(snapshot.schema.fields.some((field) => typeof field.type !== "string")).toBe(true)
        const table = yield* readArrow(snapshot)
        expect(byText(arrowRows(table, snapshot.schema))).toEqual(byText(yield* readAll(snapshot)))
      }
    })
  )
})
