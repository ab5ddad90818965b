/**
 * Hand-built Delta tables for reader features the writer does not produce: raw commits, Parquet files
 * with field ids, deletion vector files framed as the protocol says.
 */
import { Effect } from "effect"
import { parquetWriteBuffer } from "hyparquet-writer"
import type { SchemaElement } from "hyparquet"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { crc32 } from "node:zlib"
import roaring from "roaring"
import { type Action, commitFileName, serializeActions, type StructType } from "../src/index.js"

export const writeCommit = (dir: string, version: number, actions: ReadonlyArray<Action>) =>
  Effect.promise(async () => {
    await NodeFs.mkdir(Path.join(dir, "_delta_log"), { recursive: true })
    await NodeFs.writeFile(Path.join(dir, "_delta_log", commitFileName(version)), serializeActions(actions))
  })

export const writeLines = (dir: string, version: number, lines: ReadonlyArray<unknown>) =>
  Effect.promise(async () => {
    await NodeFs.mkdir(Path.join(dir, "_delta_log"), { recursive: true })
    const text = lines.map((line) => JSON.stringify(line)).join("\n")
    await NodeFs.writeFile(Path.join(dir, "_delta_log", commitFileName(version)), `${text}\n`)
  })

/** A Parquet file of the given columns and schema elements (root first), written as a foreign writer would. */
export const writeParquet = (
  path: string,
  schema: ReadonlyArray<SchemaElement>,
  columnData: Parameters<typeof parquetWriteBuffer>[0]["columnData"]
) =>
  Effect.promise(async () => {
    await NodeFs.mkdir(Path.dirname(path), { recursive: true })
    const bytes = parquetWriteBuffer({ columnData, schema: [...schema] })
    await NodeFs.writeFile(path, new Uint8Array(bytes))
    return bytes.byteLength
  })

/**
 * The RoaringBitmapArray of a set of row indexes: magic, bucket count, then each 32-bit bucket as
 * CRoaring serializes it, an encoder independent of the reader's decoder.
 */
export const encodeRoaringBitmapArray = (rows: ReadonlyArray<number>): Uint8Array => {
  const buckets = new Map<number, Array<number>>()
  for (const row of [...rows].sort((a, b) => a - b)) {
    const key = Math.floor(row / 2 ** 32)
    const list = buckets.get(key) ?? []
    list.push(row % 2 ** 32)
    buckets.set(key, list)
  }
  const parts: Array<Uint8Array> = []
  const head = Buffer.alloc(12)
  head.writeUInt32LE(1681511377, 0)
  head.writeBigUInt64LE(BigInt(buckets.size), 4)
  parts.push(head)
  for (const [key, low] of buckets) {
    const keyBytes = Buffer.alloc(4)
    keyBytes.writeUInt32LE(key, 0)
    // CRoaring picks array, bitmap or run containers as a Java or Spark writer would.
    const bitmap = new roaring.RoaringBitmap32(low)
    bitmap.runOptimize()
    parts.push(keyBytes, bitmap.serialize("portable"))
  }
  return Buffer.concat(parts)
}

/** A deletion vector file: version byte, then per vector a big-endian size, the bitmap and its CRC-32. */
export const frameVectors = (bitmaps: ReadonlyArray<Uint8Array>): { bytes: Uint8Array; offsets: Array<number> } => {
  const parts: Array<Uint8Array> = [Uint8Array.of(1)]
  const offsets: Array<number> = []
  let at = 1
  for (const bitmap of bitmaps) {
    offsets.push(at)
    const size = Buffer.alloc(4)
    size.writeUInt32BE(bitmap.byteLength, 0)
    const checksum = Buffer.alloc(4)
    checksum.writeUInt32BE(crc32(bitmap), 0)
    parts.push(size, bitmap, checksum)
    at += bitmap.byteLength + 8
  }
  return { bytes: Buffer.concat(parts), offsets }
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

export const encodeZ85 = (bytes: Uint8Array): string => {
  const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4)
  padded.set(bytes)
  const view = new DataView(padded.buffer)
  let out = ""
  for (let i = 0; i < padded.byteLength; i += 4) {
    let value = view.getUint32(i)
    let block = ""
    for (let j = 0; j < 5; j++) {
      block = Z85[value % 85]! + block
      value = Math.floor(value / 85)
    }
    out += block
  }
  return out
}

export const metaData = (
  schema: StructType,
  options: { partitionColumns?: ReadonlyArray<string>; configuration?: Record<string, string> } = {}
): Action => ({
  _tag: "metaData",
  metaData: {
    id: "test-table",
    format: { provider: "parquet", options: {} },
    schemaString: JSON.stringify(schema),
    partitionColumns: [...(options.partitionColumns ?? [])],
    configuration: options.configuration ?? {},
    createdTime: 0
  }
})

export const protocol = (readerFeatures: ReadonlyArray<string>, writerFeatures = readerFeatures): Action => ({
  _tag: "protocol",
  protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures, writerFeatures }
})
