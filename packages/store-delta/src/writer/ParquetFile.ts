/**
 * A Parquet file from encodable columns. Row groups, nested and variable-width columns, dictionaries,
 * the footer and its statistics are hyparquet-writer's; a flat column held in a typed array (longs,
 * ints, floats, doubles, timestamps) is written here as one PLAIN page per row group straight from the
 * array's bytes, since hyparquet-writer reads such columns a value at a time, in five passes, and a
 * 64-bit value read from a typed array is a new BigInt each time.
 */
import type { ColumnChunk, SchemaElement, SchemaTree } from "hyparquet"
import { ByteWriter, ParquetWriter } from "hyparquet-writer"
import { writeColumn } from "hyparquet-writer/src/column.js"
import { writePageHeader } from "hyparquet-writer/src/datapage.js"
import { encodeNestedValues } from "hyparquet-writer/src/dremel.js"
import { writeRleBitPackedHybrid } from "hyparquet-writer/src/encoding.js"
import { schemaPathResolver } from "hyparquet-writer/src/schema.js"
import { endianness } from "node:os"
import type { EncodableColumn, Typed } from "./Columns.js"
import { compressors } from "./Compression.js"

export interface FileColumn {
  readonly name: string
  readonly column: EncodableColumn
}

/** Rows per row group; a typed column's group of 8-byte values (800 kB) stays one page. */
const rowGroupSize = 100_000
const pageSize = 1024 * 1024

// Parquet's PLAIN values are little-endian; on a big-endian machine typed columns take the general path.
const littleEndian = endianness() === "LE"

const snappy = (bytes: Uint8Array): Uint8Array => (compressors.SNAPPY ?? ((input: Uint8Array) => input))(bytes)

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

/** One column chunk of a typed column: a DATA_PAGE_V2, PLAIN, Snappy, with the chunk's statistics. */
const typedChunk = (
  writer: ByteWriter,
  element: SchemaElement,
  name: string,
  values: Typed,
  valid: Uint8Array | undefined
): ColumnChunk => {
  const chunkStart = writer.offset
  const group = packed(values, valid)
  const levels = new ByteWriter()
  const definitionLength =
    element.repetition_type === "OPTIONAL"
      ? writeRleBitPackedHybrid(levels, valid ?? new Uint8Array(values.length).fill(1), 1)
      : 0
  const plain = new Uint8Array(group.values.buffer, group.values.byteOffset, group.values.byteLength)
  const compressed = snappy(plain)
  writePageHeader(writer, {
    type: "DATA_PAGE_V2",
    uncompressed_page_size: levels.offset + plain.byteLength,
    compressed_page_size: levels.offset + compressed.byteLength,
    data_page_header_v2: {
      num_values: values.length,
      num_nulls: group.nulls,
      num_rows: values.length,
      encoding: "PLAIN",
      definition_levels_byte_length: definitionLength,
      repetition_levels_byte_length: 0,
      is_compressed: true
    }
  })
  const headerSize = writer.offset - chunkStart
  writer.appendBytes(levels.getBytes())
  writer.appendBytes(compressed)
  return {
    file_offset: BigInt(chunkStart),
    meta_data: {
      type: element.type!,
      encodings: ["PLAIN"],
      path_in_schema: [name],
      codec: "SNAPPY",
      num_values: BigInt(values.length),
      total_uncompressed_size: BigInt(headerSize + levels.offset + plain.byteLength),
      total_compressed_size: BigInt(writer.offset - chunkStart),
      data_page_offset: BigInt(chunkStart),
      statistics: {
        null_count: BigInt(group.nulls),
        ...(group.min !== undefined && group.max !== undefined ? { min_value: group.min, max_value: group.max } : {})
      },
      encoding_stats: [{ page_type: "DATA_PAGE_V2", encoding: "PLAIN", count: 1 }]
    }
  }
}

/** Writes `columns` (all of `numRows` rows) under `schema` as a Snappy Parquet file. */
export const writeParquetFile = (
  schema: Array<SchemaElement>,
  columns: ReadonlyArray<FileColumn>,
  numRows: number,
  createdBy: string
): Uint8Array => {
  const writer = new ByteWriter()
  const file = new ParquetWriter({ writer, schema, codec: "SNAPPY", compressors, statistics: true, createdBy })
  const resolve = schemaPathResolver(schema)
  for (let start = 0; start < numRows; start += rowGroupSize) {
    const end = Math.min(numRows, start + rowGroupSize)
    const groupStart = writer.offset
    const chunks: Array<ColumnChunk> = []
    for (const { name, column } of columns) {
      const path = resolve([name])
      const element = path[path.length - 1]!.element
      if (column._tag === "typed" && littleEndian && path.length === 2) {
        chunks.push(
          typedChunk(writer, element, name, column.data.subarray(start, end), column.valid?.subarray(start, end))
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
            compressors: { SNAPPY: file.compressors.SNAPPY },
            stats: true,
            pageSize,
            columnIndex: false,
            offsetIndex: true,
            ...(column._tag === "values" && column.dictionary ? { encoding: "RLE_DICTIONARY" as const } : {})
          },
          pageData: encodeNestedValues(leaf, rows)
        })
        chunks.push(result.chunk)
        file.pendingIndexes.push(result)
      }
    }
    let uncompressed = 0n
    for (const chunk of chunks) uncompressed += chunk.meta_data?.total_uncompressed_size ?? 0n
    file.row_groups.push({
      columns: chunks,
      total_byte_size: uncompressed,
      num_rows: BigInt(end - start),
      total_compressed_size: BigInt(writer.offset - groupStart)
    })
    file.num_rows += BigInt(end - start)
  }
  file.finish()
  return writer.getBytes()
}
