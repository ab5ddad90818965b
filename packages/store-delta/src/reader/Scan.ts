import { Chunk, Effect, Option, Stream } from "effect"
import type { DeltaIOError } from "../Errors.js"
import { readParquetMetadata, readParquetRows } from "./Parquet.js"
import { parseStatsValue, type DataType, type Value } from "./Schema.js"
import type { ActiveFile, Snapshot } from "./Snapshot.js"

/** Keeps rows whose `column` lies within `[min, max]` (either bound optional). Nulls never match. */
export interface ColumnRange {
  readonly column: string
  readonly min?: Value
  readonly max?: Value
}

export interface ScanOptions {
  /** Columns to return; partition columns included. Defaults to every column of the schema. */
  readonly columns?: ReadonlyArray<string>
  /** Row filter; files whose stats or partition values exclude it are not opened. */
  readonly where?: ReadonlyArray<ColumnRange>
}

type Comparable = number | string | bigint

const comparable = (value: Value | undefined): Comparable | undefined => {
  if (value === null || value === undefined) return undefined
  if (value instanceof Date) return value.getTime()
  if (typeof value === "boolean") return value ? 1 : 0
  if (value instanceof Uint8Array) return undefined
  return value
}

const compare = (a: Comparable, b: Comparable): number => {
  if (typeof a === "string" || typeof b === "string") {
    const left = String(a)
    const right = String(b)
    return left < right ? -1 : left > right ? 1 : 0
  }
  return a < b ? -1 : a > b ? 1 : 0
}

const inRange = (value: Value | undefined, range: ColumnRange): boolean => {
  const v = comparable(value)
  if (v === undefined) return false
  const min = comparable(range.min)
  const max = comparable(range.max)
  return (min === undefined || compare(v, min) >= 0) && (max === undefined || compare(v, max) <= 0)
}

const typeOf = (snapshot: Snapshot, column: string): DataType =>
  snapshot.schema.fields.find((field) => field.name === column)?.type ?? "string"

/**
 * Whether a file may hold rows matching every range. Only proof from stats or partition values skips a
 * file: no stats, a missing bound, or an all-null column keeps it.
 */
export const mayMatch = (snapshot: Snapshot, file: ActiveFile, where: ReadonlyArray<ColumnRange>): boolean => {
  for (const range of where) {
    if (snapshot.partitionColumns.includes(range.column)) {
      if (!inRange(file.partitionValues[range.column], range)) return false
      continue
    }
    if (Option.isNone(file.stats)) continue
    const stats = file.stats.value
    const type = typeOf(snapshot, range.column)
    const fileMin = comparable(parseStatsValue(stats.minValues[range.column], type))
    const fileMax = comparable(parseStatsValue(stats.maxValues[range.column], type))
    const wantMin = comparable(range.min)
    const wantMax = comparable(range.max)
    if (stats.nullCount[range.column] === stats.numRecords && stats.numRecords > 0) return false
    if (fileMax !== undefined && wantMin !== undefined && compare(fileMax, wantMin) < 0) return false
    if (fileMin !== undefined && wantMax !== undefined && compare(fileMin, wantMax) > 0) return false
  }
  return true
}

/** The files a scan with this filter has to open. */
export const pruneFiles = (snapshot: Snapshot, where: ReadonlyArray<ColumnRange> = []): ReadonlyArray<ActiveFile> =>
  snapshot.files.filter((file) => mayMatch(snapshot, file, where))

/** Rows of one data file, with partition columns filled in from the log. */
export const readFileRows = (
  snapshot: Snapshot,
  file: ActiveFile,
  options: ScanOptions = {}
): Effect.Effect<ReadonlyArray<Record<string, unknown>>, DeltaIOError> => {
  const wanted = options.columns ?? snapshot.schema.fields.map((field) => field.name)
  const partitionColumns = wanted.filter((column) => snapshot.partitionColumns.includes(column))
  const filterColumns = (options.where ?? []).map((range) => range.column)
  const dataColumns = [...new Set([...wanted, ...filterColumns])].filter((c) => !snapshot.partitionColumns.includes(c))
  return readParquetRows(file.absolutePath, { columns: dataColumns }).pipe(
    Effect.map((rows) => {
      const out: Array<Record<string, unknown>> = []
      for (const row of rows) {
        const full: Record<string, unknown> = { ...row }
        for (const column of partitionColumns) full[column] = file.partitionValues[column]
        if ((options.where ?? []).every((range) => inRange((full[range.column] ?? null) as Value, range))) {
          const projected: Record<string, unknown> = {}
          for (const column of wanted) projected[column] = full[column] ?? null
          out.push(projected)
        }
      }
      return out
    })
  )
}

/** Streams the table's rows, file by file, skipping files the filter excludes. */
export const scan = (
  snapshot: Snapshot,
  options: ScanOptions = {}
): Stream.Stream<Record<string, unknown>, DeltaIOError> =>
  Stream.fromIterable(pruneFiles(snapshot, options.where)).pipe(
    Stream.mapEffect((file) => readFileRows(snapshot, file, options), { concurrency: 4 }),
    Stream.mapConcat((rows) => Chunk.unsafeFromArray(rows.slice()))
  )

/** Reads every matching row into memory. */
export const readAll = Effect.fn("Delta.readAll")(function* (snapshot: Snapshot, options: ScanOptions = {}) {
  const chunk = yield* Stream.runCollect(scan(snapshot, options))
  return Chunk.toReadonlyArray(chunk)
})

/** Logical row count from parquet footers alone, minus rows deleted by deletion vectors. */
export const countRows = Effect.fn("Delta.countRows")(function* (snapshot: Snapshot) {
  const counts = yield* Effect.forEach(
    snapshot.files,
    (file) =>
      readParquetMetadata(file.absolutePath).pipe(
        Effect.map((metadata) => Number(metadata.num_rows) - (file.add.deletionVector?.cardinality ?? 0))
      ),
    { concurrency: 8 }
  )
  return counts.reduce((sum, n) => sum + n, 0)
})
