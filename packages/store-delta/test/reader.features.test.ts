/**
 * Reader features on tables built here by hand, the way Spark, Databricks and delta-rs lay them out:
 * deletion vectors of every storage type, column mapping by field id, type widening, the features a
 * reader may ignore, the ones it must refuse by name, and a Delta Live Tables first commit.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import {
  type Action,
  append,
  countRows,
  createTable,
  type DeletionVectorDescriptor,
  decodeRoaringBitmapArray,
  decodeZ85,
  loadSnapshot,
  readAll,
  readDeletionVector,
  type StructField,
  type StructType
} from "../src/index.js"
import { tempDir } from "./helpers.js"
import {
  encodeRoaringBitmapArray,
  encodeZ85,
  frameVectors,
  metaData,
  protocol,
  writeCommit,
  writeLines,
  writeParquet
} from "./tables.js"

const field = (name: string, type: StructField["type"], metadata: StructField["metadata"] = {}): StructField => ({
  name,
  type,
  nullable: true,
  metadata
})
const struct = (...fields: Array<StructField>): StructType => ({ type: "struct", fields })

const idSchema = struct(field("id", "long"))

/** A file of ids `from..from+count-1` (INT64), added as the given add action fields. */
const idFile = (dir: string, name: string, from: number, count: number) =>
  writeParquet(
    Path.join(dir, name),
    [
      { name: "root", num_children: 1 },
      { name: "id", type: "INT64", repetition_type: "OPTIONAL" }
    ],
    [{ name: "id", data: Array.from({ length: count }, (_, i) => BigInt(from + i)) }]
  )

const add = (path: string, size: number, extra: Partial<Record<string, unknown>> = {}): Action =>
  ({
    _tag: "add",
    add: { path, partitionValues: {}, size, modificationTime: 0, dataChange: true, ...extra }
  }) as Action

const ids = (rows: ReadonlyArray<Record<string, unknown>>) => rows.map((row) => Number(row.id)).sort((a, b) => a - b)

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe("deletion vectors", () => {
  it.scopedLive("rows are removed on read for storage types u (with a prefix, at an offset), i and p", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const sizeA = yield* idFile(dir, "a.parquet", 0, 10)
      const sizeB = yield* idFile(dir, "b.parquet", 100, 10)
      const sizeC = yield* idFile(dir, "c.parquet", 200, 10)
      // Two vectors in one file, as Spark packs them: a's is the second.
      const uuid = new Uint8Array(16).map((_, i) => i * 17)
      const hex = Buffer.from(uuid).toString("hex")
      const canonical = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
      const forA = encodeRoaringBitmapArray([0, 9, 4])
      const framed = frameVectors([encodeRoaringBitmapArray([1]), forA])
      yield* Effect.promise(async () => {
        await NodeFs.mkdir(Path.join(dir, "ab"))
        await NodeFs.writeFile(Path.join(dir, "ab", `deletion_vector_${canonical}.bin`), framed.bytes)
      })
      const forB = encodeRoaringBitmapArray([5])
      const forC = encodeRoaringBitmapArray([1, 2, 3])
      const absolute = Path.join(dir, "elsewhere.bin")
      yield* Effect.promise(() => NodeFs.writeFile(absolute, frameVectors([forC]).bytes))
      yield* writeCommit(dir, 0, [
        protocol(["deletionVectors"]),
        metaData(idSchema, { configuration: { "delta.enableDeletionVectors": "true" } }),
        add("a.parquet", sizeA, {
          stats: JSON.stringify({ numRecords: 10 }),
          deletionVector: {
            storageType: "u",
            pathOrInlineDv: `ab${encodeZ85(uuid)}`,
            offset: framed.offsets[1],
            sizeInBytes: forA.byteLength,
            cardinality: 3
          }
        }),
        add("b.parquet", sizeB, {
          deletionVector: {
            storageType: "i",
            pathOrInlineDv: encodeZ85(forB),
            sizeInBytes: forB.byteLength,
            cardinality: 1
          }
        }),
        add("c.parquet", sizeC, {
          deletionVector: {
            storageType: "p",
            pathOrInlineDv: `file://${absolute}`,
            offset: 1,
            sizeInBytes: forC.byteLength,
            cardinality: 3
          }
        })
      ])
      const snapshot = yield* loadSnapshot(dir)
      const expected = [
        ...[1, 2, 3, 5, 6, 7, 8],
        ...range(100, 110).filter((id) => id !== 105),
        200,
        ...range(204, 210)
      ]
      expect(ids(yield* readAll(snapshot))).toEqual(expected)
      expect(yield* countRows(snapshot)).toBe(expected.length)
      // A projection of no data column still counts the surviving rows.
      expect((yield* readAll(snapshot, { columns: [] })).length).toBe(expected.length)
    })
  )

  it.scopedLive("a vector that does not match its descriptor is a CorruptDeletionVector, never rows", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const bitmap = encodeRoaringBitmapArray([3, 7])
      const { bytes } = frameVectors([bitmap])
      const file = Path.join(dir, "dv.bin")
      yield* Effect.promise(() => NodeFs.writeFile(file, bytes))
      const descriptor: DeletionVectorDescriptor = {
        storageType: "p",
        pathOrInlineDv: file,
        offset: 1,
        sizeInBytes: bitmap.byteLength,
        cardinality: 2
      }
      expect(Array.from(yield* readDeletionVector(dir, "data.parquet", descriptor))).toEqual([3, 7])
      const wrongCount = yield* Effect.flip(readDeletionVector(dir, "data.parquet", { ...descriptor, cardinality: 3 }))
      expect(wrongCount.message).toContain("cardinality is 3")
      const damaged = Uint8Array.from(bytes)
      damaged[damaged.length - 6]! ^= 0xff
      yield* Effect.promise(() => NodeFs.writeFile(file, damaged))
      const checksum = yield* Effect.flip(readDeletionVector(dir, "data.parquet", descriptor))
      expect(checksum._tag).toBe("CorruptDeletionVector")
      expect(checksum.message).toContain("CRC-32")
      const unknown = yield* Effect.flip(readDeletionVector(dir, "data.parquet", { ...descriptor, storageType: "x" }))
      expect(unknown.message).toContain('storage type "x"')
    })
  )

  it("inline vectors: delta-spark's bytes read as the rows it reads; the protocol's example is refused by its magic", () => {
    const dinl = decodeZ85("^Bg9^0rr910000000000iXQKl0rr91000625c8Xg0rri41POJ5")!
    expect(Array.from(decodeRoaringBitmapArray(dinl.subarray(0, 38)) as Float64Array)).toEqual([1, 3, 5])
    // Its bytes are CRoaring's native layout written big-endian; delta-spark refuses it too.
    const example = decodeZ85("wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L")!
    expect(decodeRoaringBitmapArray(example.subarray(0, 40))).toContain("magic number")
  })

  it("fuzz: random row sets (across 32-bit buckets) round trip, and damaged bitmaps are errors, not crashes", () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let round = 0; round < 150; round++) {
      const rows = new Set<number>()
      const stretches = Math.floor(random() * 6)
      for (let i = 0; i < stretches; i++) {
        const bucket = random() < 0.2 ? Math.floor(random() * 3) : 0
        const base = Math.floor(random() * (random() < 0.5 ? 70_000 : 2 ** 32 - 20_000))
        // Scattered rows (array containers), runs (run containers), every other row (bitmap containers).
        const kind = random()
        const [count, step] =
          kind < 0.4
            ? [1 + Math.floor(random() * 50), 1 + Math.floor(random() * 900)]
            : kind < 0.8
              ? [Math.floor(random() * 3000), 1]
              : [10_000, 2]
        for (let r = 0; r < count; r++) rows.add(bucket * 2 ** 32 + base + r * step)
      }
      const sorted = [...rows].sort((a, b) => a - b)
      const bytes = encodeRoaringBitmapArray(sorted)
      const decoded = decodeRoaringBitmapArray(bytes)
      expect(
        typeof decoded !== "string" && decoded.length === sorted.length && decoded.every((row, i) => row === sorted[i])
      ).toBe(true)
      const damaged = Uint8Array.from(bytes)
      for (let flips = 0; flips < 3; flips++)
        damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256)
      const result = decodeRoaringBitmapArray(damaged.subarray(0, Math.floor(random() * damaged.length) + 1))
      expect(typeof result === "string" || result instanceof Float64Array).toBe(true)
    }
  })
})

describe("column mapping", () => {
  it.scopedLive(
    "id mode: columns, nested fields, partition values and stats resolve by field id and physical name",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const mapped = (id: number) => ({
          "delta.columnMapping.id": id,
          "delta.columnMapping.physicalName": `col-${id}`
        })
        const schema = struct(
          field("id", "long", mapped(1)),
          field("info", struct(field("label", "string", mapped(3))), mapped(2)),
          field("day", "string", mapped(4))
        )
        // The file's names are not the physical ones (renamed by an engine): only field ids find them.
        const size = yield* writeParquet(
          Path.join(dir, "day=x", "f.parquet"),
          [
            { name: "root", num_children: 2 },
            { name: "renamed_a", type: "INT64", repetition_type: "OPTIONAL", field_id: 1 },
            { name: "renamed_b", repetition_type: "OPTIONAL", num_children: 1, field_id: 2 },
            { name: "renamed_c", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL", field_id: 3 }
          ],
          [
            { name: "renamed_a", data: [1n, 2n] },
            { name: "renamed_b", data: [{ renamed_c: "one" }, { renamed_c: "two" }] }
          ]
        )
        yield* writeCommit(dir, 0, [
          protocol(["columnMapping"]),
          metaData(schema, {
            partitionColumns: ["day"],
            configuration: { "delta.columnMapping.mode": "id", "delta.columnMapping.maxColumnId": "4" }
          }),
          add("day=x/f.parquet", size, {
            partitionValues: { "col-4": "x" },
            stats: JSON.stringify({
              numRecords: 2,
              minValues: { "col-1": 1 },
              maxValues: { "col-1": 2 },
              nullCount: {}
            })
          })
        ])
        const snapshot = yield* loadSnapshot(dir)
        expect(snapshot.columnMapping).toBe("id")
        const rows = yield* readAll(snapshot)
        expect(rows).toEqual([
          { id: 1n, info: { label: "one" }, day: "x" },
          { id: 2n, info: { label: "two" }, day: "x" }
        ])
        expect(yield* readAll(snapshot, { where: [{ column: "id", min: 5n }] })).toEqual([])
        expect((yield* readAll(snapshot, { where: [{ column: "id", min: 2n }] })).length).toBe(1)
      })
  )
})

describe("reader features", () => {
  it.scopedLive("type widening: files written before a supported change read as the wider type", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const size = yield* writeParquet(
        Path.join(dir, "f.parquet"),
        [
          { name: "root", num_children: 2 },
          { name: "n", type: "INT32", repetition_type: "OPTIONAL" },
          { name: "x", type: "FLOAT", repetition_type: "OPTIONAL" }
        ],
        [
          { name: "n", data: [1, 2] },
          { name: "x", data: [0.5, 1.5] }
        ]
      )
      const widened = struct(
        field("n", "long", { "delta.typeChanges": [{ fromType: "integer", toType: "long" }] }),
        field("x", "double", { "delta.typeChanges": [{ fromType: "float", toType: "double" }] })
      )
      yield* writeCommit(dir, 0, [protocol(["typeWidening"]), metaData(widened), add("f.parquet", size)])
      expect(yield* readAll(yield* loadSnapshot(dir))).toEqual([
        { n: 1n, x: 0.5 },
        { n: 2n, x: 1.5 }
      ])
      const unsupported = struct(
        field("n", "integer", { "delta.typeChanges": [{ fromType: "string", toType: "integer" }] })
      )
      yield* writeCommit(dir, 1, [metaData(unsupported)])
      const refused = yield* Effect.flip(loadSnapshot(dir))
      expect(refused._tag === "UnsupportedFeature" && refused.feature).toBe("typeWidening")
    })
  )

  it.scopedLive(
    "writer-only features are ignored by the reader; variant, catalog-managed and unknown ones are refused by name",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const size = yield* idFile(dir, "f.parquet", 0, 3)
        const writerOnly = [
          "appendOnly",
          "invariants",
          "domainMetadata",
          "rowTracking",
          "inCommitTimestamp",
          "checkpointProtection",
          "vacuumProtocolCheck",
          "v2Checkpoint",
          "timestampNtz"
        ]
        yield* writeCommit(dir, 0, [
          protocol(["vacuumProtocolCheck", "v2Checkpoint", "timestampNtz", "deletionVectors"], writerOnly),
          metaData(idSchema, {
            configuration: { "delta.enableRowTracking": "true", "delta.enableInCommitTimestamps": "true" }
          }),
          {
            _tag: "domainMetadata",
            domainMetadata: { domain: "delta.rowTracking", configuration: '{"rowIdHighWaterMark":2}', removed: false }
          },
          add("f.parquet", size, { baseRowId: 0, defaultRowCommitVersion: 0 })
        ])
        const snapshot = yield* loadSnapshot(dir)
        expect(ids(yield* readAll(snapshot))).toEqual([0, 1, 2])
        expect(snapshot.domainMetadata.get("delta.rowTracking")?.configuration).toContain("rowIdHighWaterMark")
        for (const feature of ["variantType", "catalogManaged", "somethingNew"]) {
          yield* writeCommit(dir, 1, [protocol([feature])])
          const refused = yield* Effect.flip(loadSnapshot(dir))
          expect(refused._tag === "UnsupportedFeature" && refused.feature).toBe(feature)
          yield* Effect.promise(() => NodeFs.rm(Path.join(dir, "_delta_log", "00000000000000000001.json")))
        }
        yield* writeCommit(dir, 1, [metaData(struct(field("id", "long"), field("v", "variant")))])
        const variant = yield* Effect.flip(loadSnapshot(dir))
        expect(variant._tag === "UnsupportedFeature" && variant.feature).toBe("variantType")
        expect(variant.message).toContain("column v")
      })
  )

  it.scopedLive(
    "a Delta Live Tables first metaData without schemaString: the table opens at the version that has one",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const size = yield* idFile(dir, "f.parquet", 0, 2)
        yield* writeLines(dir, 0, [
          { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
          {
            metaData: {
              id: "dlt",
              format: { provider: "parquet", options: {} },
              partitionColumns: [],
              configuration: {}
            }
          }
        ])
        yield* writeCommit(dir, 1, [metaData(idSchema), add("f.parquet", size)])
        expect(ids(yield* readAll(yield* loadSnapshot(dir)))).toEqual([0, 1])
        const first = yield* Effect.flip(loadSnapshot(dir, { version: 0 }))
        expect(first._tag).toBe("DeltaProtocolError")
        expect(first.message).toContain("no schemaString")
      })
  )

  it.scopedLive("binary values read back as the bytes written", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const schema = struct(field("b", "binary"), field("s", "string"))
      yield* createTable(dir, { schema })
      yield* append(dir, [{ b: Uint8Array.of(0xff, 0x00, 0x80), s: "x" }])
      const rows = yield* readAll(yield* loadSnapshot(dir))
      expect(rows).toEqual([{ b: Uint8Array.of(0xff, 0x00, 0x80), s: "x" }])
    })
  )
})
