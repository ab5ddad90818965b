/**
 * Reading a Delta table as an Apache Arrow `Table`, for analytics code that speaks Arrow.
 */
import * as Arrow from "apache-arrow"
import { Effect } from "effect"
import { decimalPattern, type DataType, type StructField } from "./Schema.js"
import { readAll, type ScanOptions } from "./Scan.js"
import type { Snapshot } from "./Snapshot.js"

/**
 * The Arrow type a Delta column reads as. Timestamps keep millisecond precision in UTC; decimals
 * read as doubles and nested columns (struct, array, map) as their JSON text, which every Arrow
 * consumer can read without the nested type's full description.
 */
export const arrowTypeOf = (type: DataType): Arrow.DataType => {
  if (typeof type !== "string") return new Arrow.Utf8()
  switch (type) {
    case "byte":
      return new Arrow.Int8()
    case "short":
      return new Arrow.Int16()
    case "integer":
      return new Arrow.Int32()
    case "long":
      return new Arrow.Int64()
    case "float":
      return new Arrow.Float32()
    case "double":
      return new Arrow.Float64()
    case "boolean":
      return new Arrow.Bool()
    case "binary":
      return new Arrow.Binary()
    case "date":
      return new Arrow.DateMillisecond()
    case "timestamp":
      return new Arrow.TimestampMillisecond("UTC")
    case "timestamp_ntz":
      return new Arrow.TimestampMillisecond()
    default:
      return decimalPattern.test(type) ? new Arrow.Float64() : new Arrow.Utf8()
  }
}

const json = (value: unknown) =>
  JSON.stringify(value, (_, inner) => (typeof inner === "bigint" ? inner.toString() : inner))

const arrowValue = (value: unknown, field: StructField): unknown => {
  if (value === null || value === undefined) return null
  if (typeof field.type !== "string") return json(value)
  switch (field.type) {
    case "long":
      return typeof value === "bigint" ? value : BigInt(value as number)
    case "timestamp":
    case "timestamp_ntz":
      return value instanceof Date ? value.getTime() : value
    case "byte":
    case "short":
    case "integer":
    case "float":
    case "double":
    case "boolean":
    case "binary":
    case "date":
    case "string":
      return value
    default:
      return decimalPattern.test(field.type) ? Number(value) : typeof value === "string" ? value : json(value)
  }
}

/** Every matching row of the snapshot as one Arrow table, columns typed by the table's schema. */
export const readArrow = Effect.fn("Delta.readArrow")(function* (snapshot: Snapshot, options: ScanOptions = {}) {
  const rows = yield* readAll(snapshot, options)
  const wanted = options.columns === undefined ? undefined : new Set(options.columns)
  const fields = snapshot.schema.fields.filter((field) => wanted === undefined || wanted.has(field.name))
  const columns: Record<string, Arrow.Vector> = {}
  for (const field of fields) {
    const values = rows.map((row) => arrowValue(row[field.name], field))
    columns[field.name] = Arrow.vectorFromArray(values, arrowTypeOf(field.type))
  }
  return new Arrow.Table(columns)
})
