import { describe, expect, it } from "@effect/vitest"
import { EventLog } from "@tessera/core"
import { Effect } from "effect"
import {
  append,
  compact,
  createTable,
  DeltaEventLog,
  loadSnapshot,
  readAll,
  readArrow,
  type Snapshot,
  type StructField,
  type StructType,
  writeCheckpoint
} from "../src/index.js"
import { bySeq, sampleRows, sampleSchema, tempDir, withDuckDB } from "./helpers.js"
import { checkLog } from "./logChecker.js"

/** DuckDB reading the active files the log lists, as an engine without Delta support would. */
const duckdb = (snapshot: Snapshot, select: string, orderBy = "seq") =>
  withDuckDB(async (query) => {
    const files = snapshot.files.map((file) => `'${file.absolutePath.replaceAll("'", "''")}'`).join(", ")
    const source = `read_parquet([${files}], hive_partitioning = false)`
    const types = await query(`DESCRIBE SELECT * FROM ${source}`)
    return {
      types: Object.fromEntries(types.map((row) => [row.column_name, row.column_type])),
      rows: await query(`SELECT ${select} FROM ${source} ORDER BY ${orderBy}`)
    }
  })

const column = (name: string, type: StructField["type"]): StructField => ({ name, type, nullable: true, metadata: {} })

describe("interop with DuckDB", () => {
  it.scoped("DuckDB reads the writer's files identically: rows, types, timestamps", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* createTable(path, { schema: sampleSchema, partitionColumns: ["day"] })
      for (let i = 0; i < 10; i++) yield* append(path, sampleRows(i * 5, 5, i % 2 === 0 ? "2026-11-01" : "2026-11-02"))
      yield* compact(path, { minFiles: 4, sortBy: "seq" })
      yield* append(path, sampleRows(50, 3))
      const snapshot = yield* loadSnapshot(path)
      const ours = bySeq(yield* readAll(snapshot))
      const { types, rows } = yield* duckdb(snapshot, `seq, id, epoch_ms("at") AS at_ms, "count", score, ok, note`)
      expect(types).toEqual({
        seq: "BIGINT",
        id: "VARCHAR",
        at: "TIMESTAMP WITH TIME ZONE",
        count: "INTEGER",
        score: "DOUBLE",
        ok: "BOOLEAN",
        note: "VARCHAR"
      })
      expect(rows.length).toBe(ours.length)
      expect(rows).toEqual(
        ours.map((row) => ({
          seq: row.seq,
          id: row.id,
          at_ms: BigInt((row.at as Date).getTime()),
          count: row.count,
          score: row.score,
          ok: row.ok,
          note: row.note
        }))
      )
      yield* checkLog(path)
    })
  )

  it.scoped("DuckDB reads the event log table", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const { BuildEvent, EventId } = yield* Effect.promise(() => import("@tessera/core"))
        for (let i = 0; i < 5; i++) {
          const timestamp = Date.UTC(2026, 10, 1 + i, 8)
          yield* log.append([
            new BuildEvent.BuildRequestReceived({
              eventId: EventId.unsafeMake(timestamp),
              timestamp,
              buildRequestId: `b${i}`,
              requestedRefs: [],
              source: "api",
              options: {}
            })
          ])
        }
      }).pipe(Effect.provide(DeltaEventLog.layer({ path })))
      const snapshot = yield* loadSnapshot(path)
      const ours = bySeq(yield* readAll(snapshot))
      const { types, rows } = yield* duckdb(
        snapshot,
        `seq, "eventId", epoch_ms("timestamp") AS ms, "buildRequestId", kind, "partitionRef", payload`
      )
      expect(types.timestamp).toBe("TIMESTAMP WITH TIME ZONE")
      expect(types.seq).toBe("BIGINT")
      expect(rows).toEqual(
        ours.map((row) => ({
          seq: row.seq,
          eventId: row.eventId,
          ms: BigInt((row.timestamp as Date).getTime()),
          buildRequestId: row.buildRequestId,
          kind: row.kind,
          partitionRef: null,
          payload: row.payload
        }))
      )
      expect(snapshot.files.map((file) => file.partitionValues.date).sort()).toEqual([
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
        "2026-11-04",
        "2026-11-05"
      ])
      yield* checkLog(path)
    })
  )

  it.scoped(
    "every type the writer takes reads back exactly in DuckDB: decimal(38) from bigint, string and number, binary, timestamp_ntz, nested",
    () =>
      Effect.gen(function* () {
        const path = yield* tempDir
        const schema: StructType = {
          type: "struct",
          fields: [
            column("k", "long"),
            column("b", "byte"),
            column("s", "short"),
            column("i", "integer"),
            column("f", "float"),
            column("d", "double"),
            column("ok", "boolean"),
            column("str", "string"),
            column("bin", "binary"),
            column("day", "date"),
            column("ts", "timestamp"),
            column("ntz", "timestamp_ntz"),
            column("dec10", "decimal(10,2)"),
            column("dec38", "decimal(38,10)"),
            column("arr", { type: "array", elementType: "integer", containsNull: true }),
            column("st", { type: "struct", fields: [column("x", "string")] })
          ]
        }
        // Values DuckDB returns as they were given.
        const primitives = { k: 0n, b: -128, s: 32767, i: -2147483648, f: 1.5, d: Math.PI, ok: true, str: "é ✓" }
        yield* createTable(path, { schema })
        yield* append(path, [
          {
            ...primitives,
            bin: Uint8Array.of(0xff, 0x00, 0x80),
            day: new Date("2026-11-01T00:00:00Z"),
            ts: new Date("2026-11-01T12:34:56.789Z"),
            ntz: new Date("2026-11-01T12:34:56.789Z"),
            dec10: "12345678.91",
            dec38: 1234567890123456789012345678n,
            arr: [1, null, 3],
            st: { x: "inner" }
          },
          { k: 1n, dec10: -0.5, dec38: "-1234567890123456789012345678.0123456789", bin: new Uint8Array(0) },
          { k: 2n, dec10: 7n, dec38: 1.25 }
        ])
        const snapshot = yield* loadSnapshot(path)
        // timestamp_ntz needs the feature (reader 3 / writer 7), and the checkpoint carries the feature columns.
        expect(snapshot.protocol).toEqual({
          minReaderVersion: 3,
          minWriterVersion: 7,
          readerFeatures: ["timestampNtz"],
          writerFeatures: ["timestampNtz"]
        })
        yield* writeCheckpoint(snapshot)
        expect((yield* loadSnapshot(path)).protocol).toEqual(snapshot.protocol)
        const select = [
          "k",
          "b",
          "s",
          "i",
          "f",
          "d",
          "ok",
          "str",
          "hex(bin) AS bin",
          "CAST(day AS VARCHAR) AS day",
          "epoch_ms(ts) AS ts",
          "CAST(ntz AS VARCHAR) AS ntz",
          "CAST(dec10 AS VARCHAR) AS dec10",
          "CAST(dec38 AS VARCHAR) AS dec38",
          "arr",
          "st"
        ].join(", ")
        const { types, rows } = yield* duckdb(snapshot, select, "k")
        expect(types).toEqual({
          k: "BIGINT",
          b: "TINYINT",
          s: "SMALLINT",
          i: "INTEGER",
          f: "FLOAT",
          d: "DOUBLE",
          ok: "BOOLEAN",
          str: "VARCHAR",
          bin: "BLOB",
          day: "DATE",
          ts: "TIMESTAMP WITH TIME ZONE",
          ntz: "TIMESTAMP",
          dec10: "DECIMAL(10,2)",
          dec38: "DECIMAL(38,10)",
          arr: "INTEGER[]",
          st: "STRUCT(x VARCHAR)"
        })
        expect(rows[0]).toEqual({
          ...primitives,
          bin: "FF0080",
          day: "2026-11-01",
          ts: 1793536496789n,
          ntz: "2026-11-01 12:34:56.789",
          dec10: "12345678.91",
          dec38: "1234567890123456789012345678.0000000000",
          arr: [1, null, 3],
          st: { x: "inner" }
        })
        expect(rows.slice(1).map((row) => [row.bin, row.dec10, row.dec38])).toEqual([
          ["", "-0.50", "-1234567890123456789012345678.0123456789"],
          [null, "7.00", "1.2500000000"]
        ])
        const ours = [...(yield* readAll(snapshot))].sort((a, b) => Number(a.k) - Number(b.k))
        expect(ours[0]).toMatchObject({
          bin: Uint8Array.of(0xff, 0x00, 0x80),
          ntz: new Date("2026-11-01T12:34:56.789Z")
        })
        expect(ours[1]!.bin).toEqual(new Uint8Array(0))
        // Decimals read exactly: numbers to 15 digits of precision, the exact text past them (as DuckDB prints it).
        expect(ours.map((row) => [row.dec10, row.dec38])).toEqual([
          [12345678.91, "1234567890123456789012345678.0000000000"],
          [-0.5, "-1234567890123456789012345678.0123456789"],
          [7, "1.2500000000"]
        ])
        expect(ours.map((row) => row.dec38)).toEqual(rows.map((row) => row.dec38))
        // Arrow: 128-bit decimals of the column's precision and scale, the unscaled integers exact.
        const arrow = yield* readArrow(snapshot, { columns: ["k", "dec10", "dec38"] })
        const dec38 = arrow.getChild("dec38")!
        expect(dec38.type).toMatchObject({ precision: 38, scale: 10, bitWidth: 128 })
        const keys = Array.from({ length: arrow.numRows }, (_, i) => arrow.getChild("k")!.get(i) as bigint)
        const unscaled = (i: number) => BigInt(String(dec38.get(i)))
        expect([0, 1, 2].map((k) => unscaled(keys.indexOf(BigInt(k))))).toEqual([
          12345678901234567890123456780000000000n,
          -12345678901234567890123456780123456789n,
          12500000000n
        ])
      })
  )

  it.scoped(
    "string pages, PLAIN and dictionary, with nulls and non-ASCII text read back exactly, their footer bounds in byte order",
    () =>
      Effect.gen(function* () {
        const path = yield* tempDir
        const schema: StructType = {
          type: "struct",
          fields: [
            column("k", "long"),
            column("plain", "string"),
            column("dict", "string"),
            column("bare", "string"),
            column("gone", "string"),
            column("same", "string")
          ]
        }
        // U+FFFF sorts after 😀 in JavaScript (UTF-16 units) and before it in UTF-8 bytes, Parquet's order.
        const texts = ["", "é ✓", "😀", "\uffff", "a".repeat(40), "Zürich"]
        const cycle = ["x", "ÿ", null, "😀"]
        const rows = Array.from({ length: 200 }, (_, i) => ({
          k: BigInt(i),
          plain: i % 7 === 3 ? null : `${texts[i % texts.length]}${i}`,
          dict: cycle[i % cycle.length],
          bare: `row ${i}`,
          gone: null,
          same: "only"
        }))
        yield* createTable(path, { schema })
        // `bare` keeps no Delta stats, so its footer has no bounds either; `gone` is a page of nulls only,
        // `same` a one-entry dictionary (indices of width 0).
        yield* append(path, rows, { statsColumns: ["k", "plain", "dict", "gone", "same"] })
        const snapshot = yield* loadSnapshot(path)
        const { rows: read } = yield* duckdb(snapshot, "k, plain, dict, bare, gone, same", "k")
        expect(read).toEqual(rows)
        expect([...(yield* readAll(snapshot))].sort((a, b) => Number(a.k) - Number(b.k))).toEqual(rows)
        const file = snapshot.files[0]!.absolutePath
        const chunks = yield* withDuckDB((query) =>
          query(
            `SELECT path_in_schema AS path, encodings, stats_min_value AS min, stats_max_value AS max, stats_null_count AS nulls
             FROM parquet_metadata('${file}') ORDER BY column_id`
          )
        )
        const present = rows.map((row) => row.plain).filter((value): value is string => value !== null)
        const byteOrder = [...present].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
        expect(chunks.slice(1)).toEqual([
          { path: "plain", encodings: "PLAIN", min: byteOrder[0], max: byteOrder.at(-1), nulls: 29n },
          { path: "dict", encodings: "PLAIN, RLE_DICTIONARY", min: "x", max: "😀", nulls: 50n },
          { path: "bare", encodings: "PLAIN", min: null, max: null, nulls: 0n },
          { path: "gone", encodings: "PLAIN", min: null, max: null, nulls: 200n },
          { path: "same", encodings: "PLAIN, RLE_DICTIONARY", min: "only", max: "only", nulls: 0n }
        ])
        expect(byteOrder.at(-1)?.startsWith("😀")).toBe(true)
      })
  )

  it.scoped("a file of two row groups with a multi-page nested column (offset indexes in the footer) reads back", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* createTable(path, {
        schema: {
          type: "struct",
          fields: [
            column("k", "long"),
            column("tags", { type: "array", elementType: "string", containsNull: true }),
            column("ok", "boolean")
          ]
        }
      })
      const rows = Array.from({ length: 150_000 }, (_, i) => ({
        k: BigInt(i),
        tags: [`tag-${i}-${"x".repeat(40)}`, null],
        ok: i % 3 === 0 ? null : i % 2 === 0
      }))
      yield* append(path, rows)
      const snapshot = yield* loadSnapshot(path)
      const file = snapshot.files[0]!.absolutePath
      const { groups, counts, picked } = yield* withDuckDB(async (query) => ({
        groups: await query(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${file}')`),
        counts: await query(
          `SELECT count(*) AS c, sum(len(tags)) AS t, count(ok) AS ok, max(k) AS k FROM read_parquet('${file}')`
        ),
        picked: await query(
          `SELECT k, tags, ok FROM read_parquet('${file}') WHERE k BETWEEN 120000 AND 120002 ORDER BY k`
        )
      }))
      expect(groups).toEqual([{ n: 2n }])
      expect(counts).toEqual([{ c: 150_000n, t: 300_000n, ok: 100_000n, k: 149_999n }])
      expect(picked).toEqual(rows.slice(120_000, 120_003))
      const ours = [...(yield* readAll(snapshot))].sort((a, b) => Number(a.k) - Number(b.k))
      expect(ours.length).toBe(rows.length)
      expect(ours[120_001]).toEqual(rows[120_001])
    })
  )

  it.scoped("rows that do not fit are InvalidRows naming the row, and nothing is written", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* createTable(path, {
        schema: {
          type: "struct",
          fields: [column("dec", "decimal(5,2)"), column("st", { type: "struct", fields: [column("x", "long")] })]
        }
      })
      for (const row of [
        { dec: "1234.5" },
        { dec: 1.234 },
        { dec: "abc" },
        { dec: 10n ** 4n },
        { st: { x: "not a long" } }
      ]) {
        const error = yield* Effect.flip(append(path, [row]))
        expect(error._tag).toBe("InvalidRows")
      }
      expect((yield* loadSnapshot(path)).files).toEqual([])
      const wide = yield* Effect.flip(
        createTable(`${path}-wide`, { schema: { type: "struct", fields: [column("d", "decimal(39,0)")] } })
      )
      expect(wide.message).toContain("decimal(39,0)")
    })
  )
})
