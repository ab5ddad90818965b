import type { SchemaElement } from "hyparquet"
import { randomUUID } from "node:crypto"
import { Either } from "effect"
import { type DataType, decimalPattern, type StructField, type StructType } from "../reader/Schema.js"
import { type Columns, encodableColumn, type Selection, toDate } from "./Columns.js"
import { type FileColumn, writeParquetFile } from "./ParquetFile.js"
import { parquetSchemaOf } from "./ParquetSchema.js"

/** Delta truncates string bounds; a truncated max gets the highest code point so it still bounds every value. */
const statsStringLength = 32

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

const isoDate = (date: Date) => `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`

/** Serializes a partition value as the protocol's "Partition Value Serialization" prescribes. */
export const serializePartitionValue = (value: unknown, type: DataType): string | null => {
  if (value === null || value === undefined) return null
  if (type === "date") return isoDate(toDate(value) ?? new Date(Number.NaN))
  if (type === "timestamp" || type === "timestamp_ntz") {
    const date = toDate(value) ?? new Date(Number.NaN)
    return `${isoDate(date)} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}000`
  }
  return String(value)
}

// Spark's ExternalCatalogUtils.escapePathName: characters that cannot appear in a partition directory name.
const escaped = new Set(['"', "#", "%", "'", "*", "/", ":", "=", "?", "\\", "\u007f", "{", "[", "]", "^"])

const escapePathName = (value: string): string =>
  Array.from(value, (char) =>
    escaped.has(char) || char.charCodeAt(0) < 0x20
      ? `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`
      : char
  ).join("")

export const partitionDirectory = (
  partitionColumns: ReadonlyArray<string>,
  values: { readonly [column: string]: string | null }
): string =>
  partitionColumns
    .map(
      (column) =>
        `${escapePathName(column)}=${values[column] === null ? "__HIVE_DEFAULT_PARTITION__" : escapePathName(values[column] ?? "")}`
    )
    .join("/")

/** The `path` of an add action: relative and URI-encoded, so `%3A` in a directory name becomes `%253A`. */
export const logPathOf = (relativePath: string): string => encodeURI(relativePath)

/**
 * A bound as Delta stats hold it. Timestamps are kept to the millisecond (as Spark writes them), so a
 * lower bound is rounded down and an upper bound up: both still bound the microseconds in the file.
 */
const statsValue = (value: unknown, type: DataType, upper: boolean): unknown => {
  if (type === "long") return Number(value)
  if (type === "date") return isoDate(new Date(value as number))
  if (type === "timestamp" || type === "timestamp_ntz") {
    const micros = value as bigint
    const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n)
    return new Date(Number(millis) + (upper && micros % 1000n !== 0n ? 1 : 0)).toISOString()
  }
  if (typeof value === "bigint" && typeof type === "string") {
    // An unscaled decimal of at most 15 digits over an exact power of ten: the division rounds correctly,
    // so the double prints as the decimal it is.
    const scale = Number(decimalPattern.exec(type)?.[2] ?? 0)
    return Number(value) / 10 ** scale
  }
  return value
}

/** Decimal bounds are JSON numbers in stats; past 15 digits a double would not hold them exactly, so none are kept. */
const statsEligible = (type: DataType) => {
  if (typeof type !== "string" || type === "binary" || type === "boolean") return false
  const decimal = decimalPattern.exec(type)
  return decimal === null || Number(decimal[1]) <= 15
}

export interface EncodedFile {
  readonly bytes: Uint8Array
  /** The add action's `stats` JSON. */
  readonly stats: string
  readonly numRecords: number
}

/**
 * Encodes the selected rows of `columns` (data columns only; partition columns live in the path) as
 * one Snappy parquet file with row-group statistics, and computes the Delta stats for `statsColumns`.
 */
export const encodeDataFile = (
  dataSchema: DataSchema,
  columns: Columns,
  selection: Selection,
  statsColumns: ReadonlySet<string>
): Either.Either<EncodedFile, string> => {
  const fileColumns: Array<FileColumn> = []
  const minValues: Record<string, unknown> = {}
  const maxValues: Record<string, unknown> = {}
  const nullCount: Record<string, number> = {}
  for (const field of dataSchema.fields) {
    const withStats = statsColumns.has(field.name) && statsEligible(field.type)
    const encodable = encodableColumn(field, columns.column(field.name), selection, withStats)
    if (Either.isLeft(encodable)) return Either.left(encodable.left)
    const { stats } = encodable.right
    if (stats !== undefined) {
      nullCount[field.name] = stats.nullCount
      if (stats.min !== undefined) {
        const min = statsValue(stats.min, field.type, false)
        const max = statsValue(stats.max, field.type, true)
        if (typeof min === "string" && typeof max === "string" && field.type === "string") {
          minValues[field.name] = min.slice(0, statsStringLength)
          maxValues[field.name] = max.length > statsStringLength ? `${max.slice(0, statsStringLength)}\u{10FFFF}` : max
        } else {
          minValues[field.name] = min
          maxValues[field.name] = max
        }
      }
    }
    fileColumns.push({ name: field.name, column: encodable.right })
  }
  let bytes: Uint8Array
  try {
    bytes = writeParquetFile(dataSchema.parquet, fileColumns, selection.length, "tessera store-delta")
  } catch (cause) {
    // Values inside nested columns are checked only by the Parquet encoder: its refusal is the rows' fault.
    return Either.left(`the rows do not encode as Parquet: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
  const stats = JSON.stringify({ numRecords: selection.length, minValues, maxValues, nullCount })
  return Either.right({ bytes, stats, numRecords: selection.length })
}

export const dataFileName = () => `part-00000-${randomUUID()}-c000.snappy.parquet`

/** A table's data columns (partition columns live in the paths) and their Parquet schema. */
export interface DataSchema {
  readonly fields: ReadonlyArray<StructField>
  readonly parquet: Array<SchemaElement>
}

const dataSchemas = new WeakMap<StructType, Map<string, DataSchema>>()

/**
 * The data schema of a table, built once per schema object and partitioning: every append on one
 * snapshot, and every commit of the event log, writes files of the same schema, and building it (and
 * the footer's part that `Footer` derives from it) took a tenth of a one-event file's encoding.
 */
export const dataSchemaOf = (schema: StructType, partitionColumns: ReadonlyArray<string>): DataSchema => {
  const key = partitionColumns.join("\u0000")
  let byPartitioning = dataSchemas.get(schema)
  if (byPartitioning === undefined) {
    byPartitioning = new Map()
    dataSchemas.set(schema, byPartitioning)
  }
  const cached = byPartitioning.get(key)
  if (cached !== undefined) return cached
  const fields = schema.fields.filter((field) => !partitionColumns.includes(field.name))
  const made = { fields, parquet: parquetSchemaOf(fields) }
  byPartitioning.set(key, made)
  return made
}
