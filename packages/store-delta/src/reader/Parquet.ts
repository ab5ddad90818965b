import type { Effect } from "effect"
import { asyncBufferFromFile, type FileMetaData, parquetMetadataAsync, parquetReadObjects } from "hyparquet"
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
