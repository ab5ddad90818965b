import { randomUUID } from "node:crypto"
import { Either } from "effect"
import { ByteWriter, parquetWrite } from "hyparquet-writer"
import { type DataType, decimalPattern, type StructField, type StructType } from "../reader/Schema.js"
import { parquetSchemaOf } from "./ParquetSchema.js"

export type Row = { readonly [column: string]: unknown }

/** Delta truncates string bounds; a truncated max gets the highest code point so it still bounds every value. */
const statsStringLength = 32

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

const isoDate = (date: Date) => `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`

const toDate = (value: unknown): Date | undefined => {
  if (value instanceof Date) return value
  if (typeof value === "number" || typeof value === "string") {
    const date = new Date(value)
    return Number.isNaN(date.getTime()) ? undefined : date
  }
  return undefined
}

const decimalText = /^([+-]?)(\d+)(?:\.(\d*))?$/

/**
 * A decimal(precision, scale) value as its unscaled integer, exactly: a `bigint` is the whole number it
 * says, a string is read digit by digit, a number by its shortest decimal text. `undefined` when the
 * value has more fractional digits than the scale or more digits than the precision.
 */
export const unscaledDecimal = (value: unknown, precision: number, scale: number): bigint | undefined => {
  let text: string
  if (typeof value === "bigint") text = value.toString()
  else if (typeof value === "string") text = value.trim()
  else if (typeof value === "number" && Number.isFinite(value)) {
    text = Math.abs(value) < 1e21 ? value.toFixed(Math.min(100, Math.max(scale, fractionDigits(value)))) : ""
  } else return undefined
  const match = decimalText.exec(text)
  if (match === null) return undefined
  const [, sign, whole, fraction = ""] = match
  const trimmed = fraction.replace(/0+$/, "")
  if (trimmed.length > scale) return undefined
  const digits = `${whole}${trimmed.padEnd(scale, "0")}`.replace(/^0+(?=\d)/, "")
  if (digits.length > precision) return undefined
  const unscaled = BigInt(digits)
  return sign === "-" ? -unscaled : unscaled
}

/** How many fractional digits a number's shortest text has (`1.25` → 2, `1e-7` → 7). */
const fractionDigits = (value: number): number => {
  const [mantissa = "", exponent = "0"] = String(value).split("e")
  const fraction = mantissa.split(".")[1]?.length ?? 0
  return Math.max(0, fraction - Number(exponent))
}

/** Checks and converts one value to what hyparquet-writer expects; `undefined` means the value does not fit. */
const convertValue = (value: unknown, type: DataType): unknown => {
  if (typeof type !== "string") return value
  switch (type) {
    case "string":
      return typeof value === "string" ? value : undefined
    case "long":
      if (typeof value === "bigint") return value
      return typeof value === "number" && Number.isInteger(value) ? BigInt(value) : undefined
    case "integer":
    case "short":
    case "byte":
      return typeof value === "number" && Number.isInteger(value) ? value : undefined
    case "double":
    case "float":
      return typeof value === "number" ? value : undefined
    case "boolean":
      return typeof value === "boolean" ? value : undefined
    case "binary":
      return value instanceof Uint8Array ? value : undefined
    case "date":
    case "timestamp":
    case "timestamp_ntz":
      return toDate(value)
    default: {
      const decimal = decimalPattern.exec(type)
      return decimal === null ? undefined : unscaledDecimal(value, Number(decimal[1]), Number(decimal[2]))
    }
  }
}

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

const statsValue = (value: unknown, type: DataType): unknown => {
  if (type === "long") return Number(value)
  if (typeof value === "bigint" && typeof type === "string") {
    // An unscaled decimal of at most 15 digits over an exact power of ten: the division rounds correctly,
    // so the double prints as the decimal it is.
    const scale = Number(decimalPattern.exec(type)?.[2] ?? 0)
    return Number(value) / 10 ** scale
  }
  if (type === "date") return isoDate(value as Date)
  if (type === "timestamp" || type === "timestamp_ntz") return (value as Date).toISOString()
  return value
}

const less = (a: unknown, b: unknown): boolean => {
  if (a instanceof Date && b instanceof Date) return a.getTime() < b.getTime()
  return (a as number) < (b as number)
}

interface ColumnStats {
  min?: unknown
  max?: unknown
  nullCount: number
}

const statsFor = (values: ReadonlyArray<unknown>): ColumnStats => {
  let min: unknown
  let max: unknown
  let nullCount = 0
  for (const value of values) {
    if (value === null || value === undefined) {
      nullCount++
      continue
    }
    if (min === undefined || less(value, min)) min = value
    if (max === undefined || less(max, value)) max = value
  }
  return { min, max, nullCount }
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
 * Encodes rows (data columns only; partition columns live in the path) as one Snappy parquet file with
 * row-group statistics, and computes the Delta stats for `statsColumns`.
 */
export const encodeDataFile = (
  dataFields: ReadonlyArray<StructField>,
  rows: ReadonlyArray<Row>,
  statsColumns: ReadonlySet<string>
): Either.Either<EncodedFile, string> => {
  const columnData = []
  const minValues: Record<string, unknown> = {}
  const maxValues: Record<string, unknown> = {}
  const nullCount: Record<string, number> = {}
  for (const field of dataFields) {
    const data = new Array<unknown>(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const raw = rows[i]![field.name]
      if (raw === null || raw === undefined) {
        if (!field.nullable) return Either.left(`row ${i}: column "${field.name}" is not nullable`)
        data[i] = null
        continue
      }
      const value = convertValue(raw, field.type)
      if (value === undefined) {
        return Either.left(`row ${i}: column "${field.name}" does not hold a ${JSON.stringify(field.type)}`)
      }
      data[i] = value
    }
    if (statsColumns.has(field.name) && statsEligible(field.type)) {
      const stats = statsFor(data)
      nullCount[field.name] = stats.nullCount
      if (stats.min !== undefined) {
        const min = statsValue(stats.min, field.type)
        const max = statsValue(stats.max, field.type)
        if (typeof min === "string" && typeof max === "string" && field.type === "string") {
          minValues[field.name] = min.slice(0, statsStringLength)
          maxValues[field.name] = max.length > statsStringLength ? `${max.slice(0, statsStringLength)}\u{10FFFF}` : max
        } else {
          minValues[field.name] = min
          maxValues[field.name] = max
        }
      }
    }
    columnData.push({ name: field.name, data })
  }
  const writer = new ByteWriter()
  try {
    parquetWrite({
      writer,
      columnData,
      schema: parquetSchemaOf(dataFields),
      codec: "SNAPPY",
      statistics: true,
      rowGroupSize: 100_000,
      createdBy: "tessera store-delta"
    })
  } catch (cause) {
    // Values inside nested columns are checked only by the Parquet encoder: its refusal is the rows' fault.
    return Either.left(`the rows do not encode as Parquet: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
  const stats = JSON.stringify({ numRecords: rows.length, minValues, maxValues, nullCount })
  return Either.right({ bytes: writer.getBytes(), stats, numRecords: rows.length })
}

export const dataFileName = () => `part-00000-${randomUUID()}-c000.snappy.parquet`

export const dataFieldsOf = (schema: StructType, partitionColumns: ReadonlyArray<string>) =>
  schema.fields.filter((field) => !partitionColumns.includes(field.name))
