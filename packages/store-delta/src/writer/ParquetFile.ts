/**
 * A Parquet file from encodable columns. Nested columns and the flat ones of other types (booleans,
 * binary, dates, decimals) are written by hyparquet-writer, the footer by `Footer`. Two kinds of flat
 * column are written here, one page per row group, since hyparquet-writer reads every value a few
 * times over (sizing, statistics, dictionary sampling, conversion): one held in a typed array (longs,
 * ints, floats, doubles, timestamps), PLAIN straight from the array's bytes (read from
 * hyparquet-writer's side, a 64-bit value is a new BigInt each time), and a string column, PLAIN or
 * with the dictionary `Columns` chose for it, each string encoded to UTF-8 once.
 */
import type { ColumnChunk, RowGroup, SchemaElement, SchemaTree } from "hyparquet"
import { ByteWriter } from "hyparquet-writer"
import { writeColumn } from "hyparquet-writer/src/column.js"
import { encodeNestedValues } from "hyparquet-writer/src/dremel.js"
import { writeRleBitPackedHybrid } from "hyparquet-writer/src/encoding.js"
import { writeIndexes } from "hyparquet-writer/src/indexes.js"
import { schemaPathResolver } from "hyparquet-writer/src/schema.js"
import { snappyCompress } from "hyparquet-writer/src/snappy.js"
import type { PageIndexes } from "hyparquet-writer/src/types.js"
import { endianness } from "node:os"
import type { EncodableColumn, Typed } from "./Columns.js"
import { compressors } from "./Compression.js"
import { writeFooter } from "./Footer.js"
import { Fields } from "./Thrift.js"

export interface FileColumn {
  readonly name: string
  readonly column: EncodableColumn
}

/** Rows per row group; a typed column's group of 8-byte values (800 kB) stays one page. */
const rowGroupSize = 100_000
const pageSize = 1024 * 1024

// Parquet's PLAIN values are little-endian; on a big-endian machine typed columns take the general path.
const littleEndian = endianness() === "LE"

/** The native Snappy, or hyparquet-writer's own where the native one does not load. */
const snappy = compressors.SNAPPY ?? snappyCompress

/** The leaves under a column, each as its path from the root. */
const leafPaths = (path: ReadonlyArray<SchemaTree>): Array<Array<SchemaTree>> => {
  const node = path[path.length - 1]!
  return node.children.length === 0 ? [[...path]] : node.children.flatMap((child) => leafPaths([...path, child]))
}

/** The non-null values of one group, packed, with its min and max (NaN skipped, as Parquet says). */
const packed = (values: Typed, valid: Uint8Array | undefined) => {
  let nulls = 0
  if (valid !== undefined) for (let i = 0; i < valid.length; i++) nulls += 1 - valid[i]!
  let out = values
  if (nulls > 0 && valid !== undefined) {
    const Constructor = values.constructor as new (length: number) => Typed
    out = new Constructor(values.length - nulls)
    let j = 0
    for (let i = 0; i < values.length; i++) if (valid[i] === 1) out[j++] = values[i]!
  }
  let min: number | bigint | undefined
  let max: number | bigint | undefined
  for (let i = 0; i < out.length; i++) {
    const value = out[i]!
    if (typeof value === "number" && Number.isNaN(value)) continue
    if (min === undefined || value < min) min = value
    if (max === undefined || value > max) max = value
  }
  // Parquet's rule for signed zero: a min of zero is -0, a max +0.
  if (min === 0) min = -0
  if (max === 0) max = 0
  return { values: out, nulls, min, max }
}

const pageTypes = { DATA_PAGE_V2: 3, DICTIONARY_PAGE: 2 } as const
const encodings = { PLAIN: 0, RLE_DICTIONARY: 8 } as const

/** A PageHeader (compact Thrift): a dictionary page's, or a DATA_PAGE_V2's (compressed, as all of ours are). */
const writePageHeader = (
  writer: ByteWriter,
  type: keyof typeof pageTypes,
  sizes: { readonly uncompressed: number; readonly compressed: number },
  fields: ReadonlyArray<number>
) => {
  const header = new Fields(writer)
  header.i32(1, pageTypes[type])
  header.i32(2, sizes.uncompressed)
  header.i32(3, sizes.compressed)
  header.struct(type === "DICTIONARY_PAGE" ? 7 : 8)
  const inner = new Fields(writer)
  for (let i = 0; i < fields.length; i++) inner.i32(i + 1, fields[i])
  inner.stop()
  header.stop()
}

/** A chunk's one data page, before compression: its definition levels, values, and dictionary page if any. */
interface Page {
  readonly element: SchemaElement
  readonly name: string
  readonly numValues: number
  readonly nulls: number
  readonly valid: Uint8Array | undefined
  readonly encoding: "PLAIN" | "RLE_DICTIONARY"
  readonly values: Uint8Array
  readonly dictionary: { readonly count: number; readonly values: Uint8Array } | undefined
  readonly min: number | bigint | Uint8Array | undefined
  readonly max: number | bigint | Uint8Array | undefined
}

/** An optional column's definition levels (RLE, width 1): 1 for a value, 0 for a null. */
const definitionLevels = (page: Page): Uint8Array => {
  const levels = new ByteWriter(64)
  writeRleBitPackedHybrid(levels, page.valid ?? new Uint8Array(page.numValues).fill(1), 1)
  return levels.getBytes()
}

/**
 * One column chunk of one page: its dictionary page (PLAIN, Snappy) when it has one, then a
 * DATA_PAGE_V2 (Snappy, definition levels uncompressed as V2 has them), with the chunk's statistics.
 */
const writeChunk = (writer: ByteWriter, page: Page): ColumnChunk => {
  const chunkStart = writer.offset
  let uncompressed = 0
  let dictionaryOffset: bigint | undefined
  if (page.dictionary !== undefined) {
    dictionaryOffset = BigInt(writer.offset)
    const compressed = snappy(page.dictionary.values)
    writePageHeader(
      writer,
      "DICTIONARY_PAGE",
      { uncompressed: page.dictionary.values.byteLength, compressed: compressed.byteLength },
      [page.dictionary.count, encodings.PLAIN]
    )
    uncompressed += writer.offset - Number(dictionaryOffset) + page.dictionary.values.byteLength
    writer.appendBytes(compressed)
  }
  const dataStart = writer.offset
  const levels = page.element.repetition_type === "OPTIONAL" ? definitionLevels(page) : new Uint8Array(0)
  const compressed = snappy(page.values)
  // DataPageHeaderV2: num_values, num_nulls, num_rows, encoding, both levels' byte lengths.
  writePageHeader(
    writer,
    "DATA_PAGE_V2",
    { uncompressed: levels.byteLength + page.values.byteLength, compressed: levels.byteLength + compressed.byteLength },
    [page.numValues, page.nulls, page.numValues, encodings[page.encoding], levels.byteLength, 0]
  )
  uncompressed += writer.offset - dataStart + levels.byteLength + page.values.byteLength
  writer.appendBytes(levels)
  writer.appendBytes(compressed)
  return {
    file_offset: BigInt(chunkStart),
    meta_data: {
      type: page.element.type!,
      encodings: page.dictionary === undefined ? ["PLAIN"] : ["PLAIN", "RLE_DICTIONARY"],
      path_in_schema: [page.name],
      codec: "SNAPPY",
      num_values: BigInt(page.numValues),
      total_uncompressed_size: BigInt(uncompressed),
      total_compressed_size: BigInt(writer.offset - chunkStart),
      data_page_offset: BigInt(dataStart),
      ...(dictionaryOffset === undefined ? {} : { dictionary_page_offset: dictionaryOffset }),
      statistics: {
        null_count: BigInt(page.nulls),
        ...(page.min !== undefined && page.max !== undefined ? { min_value: page.min, max_value: page.max } : {})
      },
      encoding_stats: [
        ...(page.dictionary === undefined
          ? []
          : [{ page_type: "DICTIONARY_PAGE" as const, encoding: "PLAIN" as const, count: 1 }]),
        { page_type: "DATA_PAGE_V2", encoding: page.encoding, count: 1 }
      ]
    }
  }
}

/** A typed column's page: its non-null values' bytes as they are (PLAIN is little-endian, as the array). */
const typedPage = (element: SchemaElement, name: string, values: Typed, valid: Uint8Array | undefined): Page => {
  const group = packed(values, valid)
  return {
    element,
    name,
    numValues: values.length,
    nulls: group.nulls,
    valid,
    encoding: "PLAIN",
    values: new Uint8Array(group.values.buffer, group.values.byteOffset, group.values.byteLength),
    dictionary: undefined,
    min: group.min,
    max: group.max
  }
}

/** Strings as PLAIN BYTE_ARRAY values: each one's UTF-8 length (4 bytes, little-endian), then its bytes. */
const plainStrings = (values: ReadonlyArray<string>): Buffer => {
  let size = 4 * values.length
  for (const value of values) size += Buffer.byteLength(value)
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (const value of values) {
    const length = out.write(value, at + 4)
    out.writeUInt32LE(length, at)
    at += 4 + length
  }
  return out
}

/** Unsigned byte order of two ranges of one buffer (Parquet's order for BYTE_ARRAY bounds). */
const compareRanges = (bytes: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): number => {
  // A loop here: most strings differ early, and Buffer.compare's argument checks cost more than that.
  const length = Math.min(aEnd - a, bEnd - b)
  for (let i = 0; i < length; i++) {
    const difference = bytes[a + i]! - bytes[b + i]!
    if (difference !== 0) return difference
  }
  return aEnd - a - (bEnd - b)
}

/** The smallest and largest of PLAIN BYTE_ARRAY values, as copies (so the footer does not hold the page). */
const byteArrayBounds = (plain: Buffer) => {
  if (plain.length === 0) return { min: undefined, max: undefined }
  let [minStart, minEnd] = [4, 4 + plain.readUInt32LE(0)]
  let [maxStart, maxEnd] = [minStart, minEnd]
  for (let at = minEnd; at < plain.length; ) {
    const start = at + 4
    const end = start + plain.readUInt32LE(at)
    if (compareRanges(plain, start, end, minStart, minEnd) < 0) [minStart, minEnd] = [start, end]
    else if (compareRanges(plain, start, end, maxStart, maxEnd) > 0) [maxStart, maxEnd] = [start, end]
    at = end
  }
  return { min: plain.subarray(minStart, minEnd).slice(), max: plain.subarray(maxStart, maxEnd).slice() }
}

/**
 * A flat string column's page, written here rather than by hyparquet-writer, which compares, sizes and
 * converts every value a few times over (most of a small event file's encoding): PLAIN, or
 * RLE_DICTIONARY when the column asked for a dictionary, the dictionary in first-seen order. Its
 * footer bounds are kept where the table keeps Delta stats for the column (`bounds`): comparing every
 * value's bytes is a large part of a string column's cost, and a column without bounds is one no
 * reader skips row groups by.
 */
const stringPage = (
  element: SchemaElement,
  name: string,
  rows: ReadonlyArray<unknown>,
  dictionary: boolean,
  bounds: boolean
): Page => {
  const values: Array<string> = []
  let valid: Uint8Array | undefined
  for (let i = 0; i < rows.length; i++) {
    const value = rows[i]
    if (typeof value === "string") values.push(value)
    else {
      valid ??= new Uint8Array(rows.length).fill(1)
      valid[i] = 0
    }
  }
  const common = { element, name, numValues: rows.length, nulls: rows.length - values.length, valid }
  if (!dictionary || values.length === 0) {
    const plain = plainStrings(values)
    return {
      ...common,
      encoding: "PLAIN",
      values: plain,
      dictionary: undefined,
      ...(bounds ? byteArrayBounds(plain) : noBounds)
    }
  }
  const index = new Map<string, number>()
  const indices = new Int32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!
    let at = index.get(value)
    if (at === undefined) {
      at = index.size
      index.set(value, at)
    }
    indices[i] = at
  }
  const entries = plainStrings([...index.keys()])
  // The width parquet-mr and hyparquet-writer give the indices: 0 for a one-entry dictionary.
  const bitWidth = Math.ceil(Math.log2(index.size))
  const page = new ByteWriter()
  page.appendUint8(bitWidth)
  writeRleBitPackedHybrid(page, indices, bitWidth)
  return {
    ...common,
    encoding: "RLE_DICTIONARY",
    values: page.getBytes(),
    dictionary: { count: index.size, values: entries },
    ...(bounds ? byteArrayBounds(entries) : noBounds)
  }
}

const noBounds = { min: undefined, max: undefined }

const isString = (element: SchemaElement) => element.type === "BYTE_ARRAY" && element.converted_type === "UTF8"

/** Writes `columns` (all of `numRows` rows) under `schema` as a Snappy Parquet file. */
export const writeParquetFile = (
  schema: Array<SchemaElement>,
  columns: ReadonlyArray<FileColumn>,
  numRows: number,
  createdBy: string
): Uint8Array => {
  const writer = new ByteWriter()
  writer.appendUint32(0x31524150)
  const rowGroups: Array<RowGroup> = []
  const pendingIndexes: Array<PageIndexes> = []
  const resolve = schemaPathResolver(schema)
  for (let start = 0; start < numRows; start += rowGroupSize) {
    const end = Math.min(numRows, start + rowGroupSize)
    const groupStart = writer.offset
    const chunks: Array<ColumnChunk> = []
    for (const { name, column } of columns) {
      const path = resolve([name])
      const element = path[path.length - 1]!.element
      if (path.length === 2 && column._tag === "typed" && littleEndian) {
        const valid = column.valid?.subarray(start, end)
        chunks.push(writeChunk(writer, typedPage(element, name, column.data.subarray(start, end), valid)))
        continue
      }
      if (path.length === 2 && column._tag === "values" && isString(element)) {
        chunks.push(
          writeChunk(
            writer,
            stringPage(element, name, column.data.slice(start, end), column.dictionary, column.stats !== undefined)
          )
        )
        continue
      }
      const rows =
        column._tag === "typed"
          ? Array.from(column.data.subarray(start, end) as ArrayLike<number | bigint>, (value, i) =>
              column.valid?.[start + i] === 0 ? null : value
            )
          : column.data.slice(start, end)
      for (const leaf of leafPaths(path)) {
        const schemaPath = leaf.map((node) => node.element)
        const result = writeColumn({
          writer,
          column: {
            columnName: schemaPath
              .slice(1)
              .map((element) => element.name)
              .join("."),
            element: schemaPath[schemaPath.length - 1]!,
            schemaPath,
            codec: "SNAPPY",
            compressors: { SNAPPY: snappy },
            stats: true,
            pageSize,
            columnIndex: false,
            offsetIndex: true,
            ...(column._tag === "values" && column.dictionary ? { encoding: "RLE_DICTIONARY" as const } : {})
          },
          pageData: encodeNestedValues(leaf, rows)
        })
        chunks.push(result.chunk)
        pendingIndexes.push(result)
      }
    }
    let uncompressed = 0n
    for (const chunk of chunks) uncompressed += chunk.meta_data?.total_uncompressed_size ?? 0n
    rowGroups.push({
      columns: chunks,
      total_byte_size: uncompressed,
      num_rows: BigInt(end - start),
      total_compressed_size: BigInt(writer.offset - groupStart)
    })
  }
  writeIndexes(writer, pendingIndexes)
  writeFooter(writer, {
    schema,
    elementOf: (path) => resolve([...path]).at(-1)!.element,
    rowGroups,
    numRows: BigInt(numRows),
    createdBy
  })
  return writer.getBytes()
}
