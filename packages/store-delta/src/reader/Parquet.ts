import type { Effect } from "effect"
import { readFileSync, statSync } from "node:fs"
import {
  type AsyncBuffer,
  asyncBufferFromFile,
  type FileMetaData,
  type RowGroup,
  type SchemaElement,
  parquetMetadataAsync,
  parquetRead,
  parquetReadObjects,
  parquetSchema,
  type SchemaTree
} from "hyparquet"
import { compressors } from "hyparquet-compressors"
import type { DeltaIOError } from "../Errors.js"
import { io } from "../Fs.js"

/**
 * Files up to this size are read whole with one synchronous call: the event log's data files are a few
 * kilobytes, and hyparquet's file buffer makes several trips through libuv's thread pool per file
 * (open, stat, a read per footer and column chunk, close), which queued a commit's flushes behind a
 * compaction's reads. Larger files are read a range at a time, so a big file is never held whole.
 */
const WHOLE_FILE_BYTES = 1024 * 1024

const fileBuffer = async (path: string): Promise<AsyncBuffer> => {
  const { size } = statSync(path)
  if (size > WHOLE_FILE_BYTES) return asyncBufferFromFile(path)
  const bytes = readFileSync(path)
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  return { byteLength: buffer.byteLength, slice: (start, end) => buffer.slice(start, end) }
}

/**
 * Refuses a footer whose column chunks name columns its schema does not hold. hyparquet starts the
 * reads of a row group's column chunks as it plans them and throws on the first unknown path: the
 * chunks already started then fail with nobody awaiting them (a damaged file's thrift decode error
 * escaped as an unhandled rejection, outside any Effect). Checked before a read starts, the damage is
 * this read's own error instead.
 */
const checkedFooter = (metadata: FileMetaData): FileMetaData => {
  const schema = parquetSchema(metadata)
  for (const [g, group] of metadata.row_groups.entries()) {
    for (const chunk of group.columns) {
      const path = chunk.meta_data?.path_in_schema
      if (path === undefined) throw new Error(`damaged footer: row group ${g} has a column chunk without metadata`)
      let node: SchemaTree | undefined = schema
      for (const part of path) node = node?.children.find((child) => child.element.name === part)
      if (node === undefined || node.children.length > 0) {
        throw new Error(`damaged footer: row group ${g} has a chunk of column ${path.join(".")}, not in the schema`)
      }
    }
  }
  return metadata
}

/** The footer of an open file, checked as `checkedFooter` says. */
const footerOf = async (file: AsyncBuffer) => checkedFooter(await parquetMetadataAsync(file))

export const readParquetMetadata = (path: string): Effect.Effect<FileMetaData, DeltaIOError> =>
  io("read parquet footer", path, async () => parquetMetadataAsync(await fileBuffer(path)))

/** Reads rows as objects with every codec real tables use (Snappy, gzip, zstd, brotli, LZ4). */
export const readParquetRows = (
  path: string,
  options: { readonly columns?: ReadonlyArray<string>; readonly metadata?: FileMetaData } = {}
) =>
  io("read parquet", path, async () => {
    const file = await fileBuffer(path)
    const metadata = checkedFooter(options.metadata ?? (await parquetMetadataAsync(file)))
    const present = new Set(metadata.schema.slice(1).map((element) => element.name))
    const columns = options.columns?.filter((column) => present.has(column))
    if (columns !== undefined && columns.length === 0) return []
    return parquetReadObjects({
      file,
      metadata,
      compressors,
      ...(columns !== undefined ? { columns } : {})
    }) as Promise<Array<Record<string, unknown>>>
  })

/** Whether hyparquet would turn this column's stored values into doubles (decimals) or `Date`s (timestamps). */
const convertedOnRead = (element: SchemaElement) =>
  element.converted_type === "DECIMAL" ||
  element.logical_type?.type === "DECIMAL" ||
  (element.type === "INT64" &&
    (element.converted_type === "TIMESTAMP_MILLIS" ||
      element.converted_type === "TIMESTAMP_MICROS" ||
      element.logical_type?.type === "TIMESTAMP"))

/**
 * The footer with decimal and INT64 timestamp columns' annotations taken off, for decoding only:
 * hyparquet then returns their stored integers and bytes, which `Values` reads exactly (its own
 * decimal conversion goes through doubles) and without a `Date` per timestamp. The file's schema
 * tree, built from the untouched footer, keeps the scale and the unit.
 */
const storedValues = (metadata: FileMetaData): FileMetaData =>
  metadata.schema.some(convertedOnRead)
    ? {
        ...metadata,
        schema: metadata.schema.map((element) => {
          if (!convertedOnRead(element)) return element
          const { converted_type: _converted, logical_type: _logical, ...stored } = element
          return stored
        })
      }
    : metadata

/**
 * Reads the top-level columns `choose` picks from the file's Parquet schema, with byte arrays left as
 * bytes (the table's schema, not the file, says which are strings). With no column chosen the rows are
 * still there: one empty object per row, for projections of partition columns only.
 */
export const readParquetColumns = (path: string, choose: (schema: SchemaTree) => ReadonlyArray<string>) =>
  io("read parquet", path, async () => {
    const file = await fileBuffer(path)
    const metadata = await footerOf(file)
    const schema = parquetSchema(metadata)
    const columns = [...choose(schema)]
    const rows: Array<Record<string, unknown>> =
      columns.length === 0
        ? Array.from({ length: Number(metadata.num_rows) }, () => ({}))
        : await parquetReadObjects({ file, metadata: storedValues(metadata), compressors, columns, utf8: false })
    return { schema, rows }
  })

/** Receives a column's decoded values for the rows from `rowStart` on. */
export type ChunkSink = (column: string, rowStart: number, values: ArrayLike<unknown>) => void

/**
 * Reads the top-level columns `choose` picks, one row group after another, handing each column's
 * decoded values (byte arrays left as bytes, decimals as stored) to the sink `prepare` returns for
 * the file's schema and row count. Only one row group's decoded values are alive at a time.
 */
export const readParquetColumnChunks = (
  path: string,
  choose: (schema: SchemaTree) => ReadonlyArray<string>,
  prepare: (schema: SchemaTree, numRows: number) => ChunkSink,
  /** Row groups (by their footer statistics) not to read: their rows are listed in `skipped`. */
  skip: (group: RowGroup, schema: SchemaTree) => boolean = () => false
) =>
  io("read parquet", path, async () => {
    const file = await fileBuffer(path)
    const metadata = await footerOf(file)
    const schema = parquetSchema(metadata)
    const numRows = Number(metadata.num_rows)
    const columns = [...choose(schema)]
    const sink = prepare(schema, numRows)
    const skipped: Array<{ readonly start: number; readonly end: number }> = []
    if (columns.length > 0) {
      const decoding = storedValues(metadata)
      let groupStart = 0
      for (const group of metadata.row_groups) {
        const groupEnd = groupStart + Number(group.num_rows)
        if (skip(group, schema)) {
          skipped.push({ start: groupStart, end: groupEnd })
          groupStart = groupEnd
          continue
        }
        await parquetRead({
          file,
          metadata: decoding,
          compressors,
          columns,
          utf8: false,
          rowStart: groupStart,
          rowEnd: groupEnd,
          onChunk: ({ columnName, columnData, rowStart }) => sink(columnName, rowStart, columnData)
        })
        groupStart = groupEnd
      }
    }
    return { schema, numRows, skipped }
  })
