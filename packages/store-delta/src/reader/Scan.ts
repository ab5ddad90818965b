import { Chunk, Effect, Option, Stream } from "effect"
import type { CorruptDeletionVector, DeltaIOError } from "../Errors.js"
import { findChild, physicalName } from "./ColumnMapping.js"
import { readDeletionVector } from "./DeletionVectors.js"
import { readParquetColumns, readParquetMetadata } from "./Parquet.js"
import { parseStatsValue, type DataType, type Value } from "./Schema.js"
import type { ActiveFile, Snapshot } from "./Snapshot.js"
import { toDeltaValue } from "./Values.js"

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

/** Whether a value lies within the range; null never does. */
export const inRange = (value: Value | undefined, range: ColumnRange): boolean => {
  const v = comparable(value)
  if (v === undefined) return false
  const min = comparable(range.min)
  const max = comparable(range.max)
  return (min === undefined || compare(v, min) >= 0) && (max === undefined || compare(v, max) <= 0)
}

/** A column's type, and the name its stats are kept under. */
const statsColumn = (snapshot: Snapshot, column: string): { readonly type: DataType; readonly key: string } => {
  const field = snapshot.schema.fields.find((candidate) => candidate.name === column)
  return field === undefined
    ? { type: "string", key: column }
    : { type: field.type, key: physicalName(field, snapshot.columnMapping) }
}

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
    const { type, key } = statsColumn(snapshot, range.column)
    if (stats.nullCount[key] === stats.numRecords && stats.numRecords > 0) return false
    const fileMin = parseStatsValue(stats.minValues[key], type)
    const fileMax = parseStatsValue(stats.maxValues[key], type)
    if (!boundsMayMatch(fileMin, fileMax, range)) return false
  }
  return true
}

/** Whether values bounded by `min` and `max` (either unknown) may lie within the range. */
export const boundsMayMatch = (min: Value | undefined, max: Value | undefined, range: ColumnRange): boolean => {
  const low = comparable(min)
  const high = comparable(max)
  const wantMin = comparable(range.min)
  const wantMax = comparable(range.max)
  if (high !== undefined && wantMin !== undefined && compare(high, wantMin) < 0) return false
  if (low !== undefined && wantMax !== undefined && compare(low, wantMax) > 0) return false
  return true
}

/** The files a scan with this filter has to open. */
export const pruneFiles = (snapshot: Snapshot, where: ReadonlyArray<ColumnRange> = []): ReadonlyArray<ActiveFile> =>
  snapshot.files.filter((file) => mayMatch(snapshot, file, where))

/** Rows of one data file, less those its deletion vector removes, with partition columns filled in from the log. */
export const readFileRows = (
  snapshot: Snapshot,
  file: ActiveFile,
  options: ScanOptions = {}
): Effect.Effect<ReadonlyArray<Record<string, unknown>>, DeltaIOError | CorruptDeletionVector> =>
  Effect.gen(function* () {
    const mode = snapshot.columnMapping
    const wanted = options.columns ?? snapshot.schema.fields.map((field) => field.name)
    const partitionColumns = wanted.filter((column) => snapshot.partitionColumns.includes(column))
    const where = options.where ?? []
    const dataFields = snapshot.schema.fields.filter(
      (field) =>
        !snapshot.partitionColumns.includes(field.name) &&
        (wanted.includes(field.name) || where.some((range) => range.column === field.name))
    )
    const dv = file.add.deletionVector
    const [{ schema, rows }, deleted] = yield* Effect.all(
      [
        readParquetColumns(file.absolutePath, (schema) =>
          dataFields.flatMap((field) => findChild(schema, field, mode)?.element.name ?? [])
        ),
        dv === undefined ? Effect.succeed(new Float64Array(0)) : readDeletionVector(snapshot.tablePath, file.path, dv)
      ],
      { concurrency: 2 }
    )
    const columns = dataFields.map((field) => ({ field, node: findChild(schema, field, mode) }))
    const out: Array<Record<string, unknown>> = []
    let nextDeleted = 0
    for (let index = 0; index < rows.length; index++) {
      if (nextDeleted < deleted.length && deleted[nextDeleted] === index) {
        nextDeleted++
        continue
      }
      const row = rows[index]!
      const full: Record<string, unknown> = {}
      for (const { field, node } of columns) {
        full[field.name] = node === undefined ? null : toDeltaValue(row[node.element.name], field.type, node, mode)
      }
      for (const column of partitionColumns) full[column] = file.partitionValues[column]
      if (where.every((range) => inRange((full[range.column] ?? null) as Value, range))) {
        const projected: Record<string, unknown> = {}
        for (const column of wanted) projected[column] = full[column] ?? null
        out.push(projected)
      }
    }
    return out
  })

/** Streams the table's rows, file by file, skipping files the filter excludes. */
export const scan = (
  snapshot: Snapshot,
  options: ScanOptions = {}
): Stream.Stream<Record<string, unknown>, DeltaIOError | CorruptDeletionVector> =>
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
