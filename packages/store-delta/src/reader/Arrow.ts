/**
 * Reading a Delta table as an Apache Arrow `Table`, for analytics code that speaks Arrow. Files are read
 * column by column (no row objects on the way), several at a time, and each column becomes one vector.
 */
import * as Arrow from "apache-arrow"
import { Effect } from "effect"
import { findChild } from "./ColumnMapping.js"
import { readDeletionVector } from "./DeletionVectors.js"
import { readParquetColumnData } from "./Parquet.js"
import { type ColumnRange, inRange, pruneFiles, type ScanOptions } from "./Scan.js"
import { type DataType, decimalPattern, type StructField, type Value } from "./Schema.js"
import type { ActiveFile, Snapshot } from "./Snapshot.js"
import { toDeltaValue } from "./Values.js"

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
  JSON.stringify(value, (_, inner) =>
    typeof inner === "bigint" ? inner.toString() : inner instanceof Uint8Array ? Array.from(inner) : inner
  )

/** A Delta value (as the reader returns it) as Arrow's builders take it. */
const arrowValue = (value: unknown, type: DataType): unknown => {
  if (value === null || value === undefined) return null
  if (typeof type !== "string") return json(value)
  if (value instanceof Date) return value.getTime()
  return value
}

/** One column as a vector: typed arrays go in whole when the column has no nulls, the rest through a builder. */
const vectorOf = (values: ReadonlyArray<unknown>, type: DataType): Arrow.Vector => {
  const hasNull = values.some((value) => value === null)
  if (!hasNull) {
    if (type === "long") return Arrow.makeVector(BigInt64Array.from(values as ReadonlyArray<bigint>))
    if (type === "double") return Arrow.makeVector(Float64Array.from(values as ReadonlyArray<number>))
    if (type === "integer") return Arrow.makeVector(Int32Array.from(values as ReadonlyArray<number>))
  }
  return Arrow.vectorFromArray(
    values.map((value) => arrowValue(value, type)),
    arrowTypeOf(type)
  )
}

/** The columns of one file as Delta values, less the rows its deletion vector removes and the filter excludes. */
const readFileColumns = (
  snapshot: Snapshot,
  file: ActiveFile,
  fields: ReadonlyArray<StructField>,
  where: ReadonlyArray<ColumnRange>
) =>
  Effect.gen(function* () {
    const mode = snapshot.columnMapping
    const dataFields = fields.filter((field) => !snapshot.partitionColumns.includes(field.name))
    const dv = file.add.deletionVector
    const [{ schema, numRows, data }, deleted] = yield* Effect.all(
      [
        readParquetColumnData(file.absolutePath, (tree) =>
          dataFields.flatMap((field) => findChild(tree, field, mode)?.element.name ?? [])
        ),
        dv === undefined ? Effect.succeed(new Float64Array(0)) : readDeletionVector(snapshot.tablePath, file.path, dv)
      ],
      { concurrency: 2 }
    )
    const columns = new Map<string, Array<unknown>>()
    for (const field of fields) {
      const column = new Array<unknown>(numRows)
      if (snapshot.partitionColumns.includes(field.name)) column.fill(file.partitionValues[field.name] ?? null)
      else {
        const node = findChild(schema, field, mode)
        const raw = node === undefined ? undefined : data.get(node.element.name)
        for (let i = 0; i < numRows; i++) column[i] = toDeltaValue(raw?.[i], field.type, node, mode)
      }
      columns.set(field.name, column)
    }
    if (deleted.length === 0 && where.length === 0) return columns
    const keep = new Uint8Array(numRows).fill(1)
    for (const row of deleted) keep[row] = 0
    for (const range of where) {
      const column = columns.get(range.column)
      for (let i = 0; i < numRows; i++) if (keep[i] && !inRange((column?.[i] ?? null) as Value, range)) keep[i] = 0
    }
    for (const [name, column] of columns)
      columns.set(
        name,
        column.filter((_, i) => keep[i] === 1)
      )
    return columns
  })

/** Every matching row of the snapshot as one Arrow table, columns typed by the table's schema. */
export const readArrow = Effect.fn("Delta.readArrow")(function* (snapshot: Snapshot, options: ScanOptions = {}) {
  const wanted = options.columns === undefined ? undefined : new Set(options.columns)
  const where = options.where ?? []
  const fields = snapshot.schema.fields.filter((field) => wanted === undefined || wanted.has(field.name))
  const readFields = snapshot.schema.fields.filter(
    (field) => wanted === undefined || wanted.has(field.name) || where.some((range) => range.column === field.name)
  )
  const perFile = yield* Effect.forEach(
    pruneFiles(snapshot, where),
    (file) => readFileColumns(snapshot, file, readFields, where),
    { concurrency: 4 }
  )
  const columns: Record<string, Arrow.Vector> = {}
  for (const field of fields) {
    const values = perFile.flatMap((file) => file.get(field.name) ?? [])
    columns[field.name] = vectorOf(values, field.type)
  }
  return new Arrow.Table(columns)
})
