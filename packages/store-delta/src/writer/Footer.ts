/**
 * The Parquet footer (FileMetaData in Thrift's compact protocol), written here rather than by
 * hyparquet-writer's `writeMetadata`: its serializer names every field by a string key it parses back
 * and infers each value's Thrift type, which took two thirds of a one-event file's encoding. The
 * schema's part of the footer, and the column orders and creator after the row groups, are the same
 * for every file of a table, so they are serialized once per schema (with hyparquet-writer's own
 * serializer, field for field as `writeMetadata` maps them); the row groups are written field by
 * field below. Statistics keep hyparquet-writer's conversion (physical bytes, truncation, exactness).
 */
import type { ColumnChunk, ColumnMetaData, RowGroup, SchemaElement } from "hyparquet"
import {
  CompressionCodecs,
  ConvertedTypes,
  Encodings,
  FieldRepetitionTypes,
  PageTypes,
  ParquetTypes
} from "hyparquet/src/constants.js"
import { ByteWriter } from "hyparquet-writer"
import { logicalType } from "hyparquet-writer/src/metadata.js"
import { serializeTCompactProtocol } from "hyparquet-writer/src/thrift.js"
import { unconvertStatistics } from "hyparquet-writer/src/unconvert.js"
import { BINARY, Fields, I32, STOP, STRUCT, writeBinary } from "./Thrift.js"

interface SchemaParts {
  readonly createdBy: string
  /** Fields 1 (version) and 2 (schema) of FileMetaData, without the struct's stop. */
  readonly head: Uint8Array
  /** Fields 6 (created_by) and 7 (column_orders, type-defined for every leaf) and the stop. */
  readonly tail: Uint8Array
}

const parts = new WeakMap<ReadonlyArray<SchemaElement>, SchemaParts>()

const schemaParts = (schema: ReadonlyArray<SchemaElement>, createdBy: string): SchemaParts => {
  const cached = parts.get(schema)
  if (cached !== undefined && cached.createdBy === createdBy) return cached
  const head = new ByteWriter()
  serializeTCompactProtocol(head, {
    field_1: 2,
    field_2: schema.map((element) => ({
      field_1: element.type && ParquetTypes.indexOf(element.type),
      field_2: element.type_length,
      field_3: element.repetition_type && FieldRepetitionTypes.indexOf(element.repetition_type),
      field_4: element.name,
      field_5: element.num_children,
      field_6: element.converted_type && ConvertedTypes.indexOf(element.converted_type),
      field_7: element.scale,
      field_8: element.precision,
      field_9: element.field_id,
      field_10: logicalType(element.logical_type)
    }))
  })
  const tail = new ByteWriter()
  const fields = new Fields(tail, 4)
  fields.string(6, createdBy)
  const leaves = schema.filter((element) => element.type !== undefined).length
  fields.list(7, STRUCT, leaves)
  // ColumnOrder is a union whose one member, TypeDefinedOrder (field 1), is an empty struct.
  for (let i = 0; i < leaves; i++) tail.appendBytes(new Uint8Array([(1 << 4) | STRUCT, STOP, STOP]))
  fields.stop()
  const made = { createdBy, head: head.getBytes().slice(0, head.offset - 1), tail: tail.getBytes().slice() }
  parts.set(schema, made)
  return made
}

const columnMetaData = (
  writer: ByteWriter,
  meta: ColumnMetaData,
  element: SchemaElement,
  statisticsTruncateLength: number | undefined
) => {
  const fields = new Fields(writer)
  fields.i32(1, ParquetTypes.indexOf(meta.type))
  fields.list(2, I32, meta.encodings.length)
  for (const encoding of meta.encodings) writer.appendZigZag(Encodings.indexOf(encoding))
  fields.list(3, BINARY, meta.path_in_schema.length)
  for (const name of meta.path_in_schema) writeBinary(writer, name)
  fields.i32(4, CompressionCodecs.indexOf(meta.codec))
  fields.i64(5, meta.num_values)
  fields.i64(6, meta.total_uncompressed_size)
  fields.i64(7, meta.total_compressed_size)
  fields.i64(9, meta.data_page_offset)
  fields.i64(10, meta.index_page_offset)
  fields.i64(11, meta.dictionary_page_offset)
  if (meta.statistics !== undefined) {
    fields.struct(12)
    serializeTCompactProtocol(writer, unconvertStatistics(meta.statistics, element, statisticsTruncateLength))
  }
  if (meta.encoding_stats !== undefined) {
    fields.list(13, STRUCT, meta.encoding_stats.length)
    for (const stats of meta.encoding_stats) {
      const entry = new Fields(writer)
      entry.i32(1, PageTypes.indexOf(stats.page_type))
      entry.i32(2, Encodings.indexOf(stats.encoding))
      entry.i32(3, stats.count)
      entry.stop()
    }
  }
  fields.stop()
}

const columnChunk = (
  writer: ByteWriter,
  chunk: ColumnChunk,
  element: SchemaElement,
  statisticsTruncateLength: number | undefined
) => {
  const fields = new Fields(writer)
  fields.i64(2, chunk.file_offset)
  if (chunk.meta_data !== undefined) {
    fields.struct(3)
    columnMetaData(writer, chunk.meta_data, element, statisticsTruncateLength)
  }
  fields.i64(4, chunk.offset_index_offset)
  fields.i32(5, chunk.offset_index_length)
  fields.i64(6, chunk.column_index_offset)
  fields.i32(7, chunk.column_index_length)
  fields.stop()
}

/**
 * Appends the footer and the closing magic; `elementOf` resolves a chunk's path to its schema
 * element (statistics are converted by its type). The chunks carry the fields this package's writers set (no
 * file paths, key-value metadata, bloom filters or size statistics, which they never write).
 */
export const writeFooter = (
  writer: ByteWriter,
  options: {
    readonly schema: ReadonlyArray<SchemaElement>
    readonly elementOf: (path: ReadonlyArray<string>) => SchemaElement
    readonly rowGroups: ReadonlyArray<RowGroup>
    readonly numRows: bigint
    readonly createdBy: string
    readonly statisticsTruncateLength?: number
  }
) => {
  const { head, tail } = schemaParts(options.schema, options.createdBy)
  const start = writer.offset
  writer.appendBytes(head)
  const fields = new Fields(writer, 2)
  fields.i64(3, options.numRows)
  fields.list(4, STRUCT, options.rowGroups.length)
  for (const group of options.rowGroups) {
    const groupFields = new Fields(writer)
    groupFields.list(1, STRUCT, group.columns.length)
    for (const chunk of group.columns) {
      const element = options.elementOf(chunk.meta_data?.path_in_schema ?? [])
      columnChunk(writer, chunk, element, options.statisticsTruncateLength)
    }
    groupFields.i64(2, group.total_byte_size)
    groupFields.i64(3, group.num_rows)
    groupFields.i64(6, group.total_compressed_size)
    groupFields.stop()
  }
  writer.appendBytes(tail)
  writer.appendUint32(writer.offset - start)
  writer.appendUint32(0x31524150)
}
