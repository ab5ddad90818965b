import type { Effect } from "effect"
import {
  asyncBufferFromFile,
  type FileMetaData,
  parquetMetadataAsync,
  parquetRead,
  parquetReadObjects,
  parquetSchema,
  type SchemaTree
} from "hyparquet"
import { compressors } from "hyparquet-compressors"
import type { DeltaIOError } from "../Errors.js"
import { io } from "../Fs.js"

export const readParquetMetadata = (path: string): Effect.Effect<FileMetaData, DeltaIOError> =>
  io("read parquet footer", path, async () => parquetMetadataAsync(await asyncBufferFromFile(path)))

/** Reads rows as objects with every codec real tables use (Snappy, gzip, zstd, brotli, LZ4). */
export const readParquetRows = (
  path: string,
  options: { readonly columns?: ReadonlyArray<string>; readonly metadata?: FileMetaData } = {}
) =>
  io("read parquet", path, async () => {
    const file = await asyncBufferFromFile(path)
    const metadata = options.metadata ?? (await parquetMetadataAsync(file))
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

/**
 * The footer with decimal columns' annotations taken off, for decoding only: hyparquet then returns
 * their stored integers and bytes, which `Values.unscaledOf` reads exactly (its own conversion goes
 * through doubles). The file's schema tree, built from the untouched footer, keeps the scale.
 */
const storedDecimals = (metadata: FileMetaData): FileMetaData =>
  metadata.schema.some((element) => element.converted_type === "DECIMAL")
    ? {
        ...metadata,
        schema: metadata.schema.map((element) => {
          if (element.converted_type !== "DECIMAL") return element
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
    const file = await asyncBufferFromFile(path)
    const metadata = await parquetMetadataAsync(file)
    const schema = parquetSchema(metadata)
    const columns = [...choose(schema)]
    const rows: Array<Record<string, unknown>> =
      columns.length === 0
        ? Array.from({ length: Number(metadata.num_rows) }, () => ({}))
        : await parquetReadObjects({ file, metadata: storedDecimals(metadata), compressors, columns, utf8: false })
    return { schema, rows }
  })

/**
 * Reads the chosen top-level columns as whole columns (no row objects): each column's chunks, as the
 * row groups decode, copied into one array per column in row order.
 */
export const readParquetColumnData = (path: string, choose: (schema: SchemaTree) => ReadonlyArray<string>) =>
  io("read parquet", path, async () => {
    const file = await asyncBufferFromFile(path)
    const metadata = await parquetMetadataAsync(file)
    const schema = parquetSchema(metadata)
    const numRows = Number(metadata.num_rows)
    const columns = [...choose(schema)]
    const data = new Map(columns.map((column) => [column, new Array<unknown>(numRows)]))
    if (columns.length > 0) {
      await parquetRead({
        file,
        metadata: storedDecimals(metadata),
        compressors,
        columns,
        utf8: false,
        onChunk: ({ columnName, columnData, rowStart }) => {
          const target = data.get(columnName)
          if (target === undefined) return
          for (let i = 0; i < columnData.length; i++) target[rowStart + i] = columnData[i]
        }
      })
    }
    return { schema, numRows, data }
  })
