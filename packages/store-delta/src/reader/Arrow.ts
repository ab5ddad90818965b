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
import { decimalOf, toDeltaValue, unscaledOf } from "./Values.js"

/**
 * The Arrow type a Delta column reads as. Timestamps keep millisecond precision in UTC; decimals
 * are Arrow's 128-bit `Decimal` of the column's precision and scale (exact), and nested columns (struct, array, map) as their JSON text, which every Arrow
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
    default: {
      const decimal = decimalPattern.exec(type)
      return decimal === null ? new Arrow.Utf8() : new Arrow.Decimal(Number(decimal[2]), Number(decimal[1]), 128)
    }
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

const utf8 = new TextEncoder()
const textOf = new TextDecoder()

/** Arrow's validity bitmap for the non-null values, or undefined when there are none null. */
const validity = (values: ReadonlyArray<unknown>): { bitmap: Uint8Array | undefined; nulls: number } => {
  const bitmap = new Uint8Array(Math.ceil(values.length / 8))
  let nulls = 0
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) nulls++
    else bitmap[i >> 3]! |= 1 << (i & 7)
  }
  return { bitmap: nulls === 0 ? undefined : bitmap, nulls }
}

/** A Utf8 vector straight from the bytes the file held (strings are encoded), without builders. */
const utf8Vector = (values: ReadonlyArray<unknown>): Arrow.Vector => {
  const { bitmap, nulls } = validity(values)
  const offsets = new Int32Array(values.length + 1)
  const parts = new Array<Uint8Array>(values.length)
  let total = 0
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    const bytes =
      value instanceof Uint8Array ? value : typeof value === "string" ? utf8.encode(value) : new Uint8Array(0)
    parts[i] = bytes
    total += bytes.byteLength
    offsets[i + 1] = total
  }
  const data = new Uint8Array(total)
  for (let i = 0; i < parts.length; i++) data.set(parts[i]!, offsets[i]!)
  return Arrow.makeVector(
    Arrow.makeData({
      type: new Arrow.Utf8(),
      length: values.length,
      nullCount: nulls,
      nullBitmap: bitmap,
      valueOffsets: offsets,
      data
    })
  )
}

/** The non-null values of a fixed-width column written into one typed array by `fill`. */
const fixedWidth = <A>(
  values: ReadonlyArray<unknown>,
  array: A,
  fill: (array: A, index: number, value: unknown) => void
) => {
  const { bitmap, nulls } = validity(values)
  for (let i = 0; i < values.length; i++) if (values[i] !== null && values[i] !== undefined) fill(array, i, values[i])
  return { length: values.length, nullCount: nulls, nullBitmap: bitmap, data: array }
}

const setNumber = (array: Int32Array | Float64Array, i: number, value: unknown) => {
  array[i] = value as number
}

/** A decimal column from unscaled integers: four little-endian 32-bit words of two's complement each. */
const decimalVector = (values: ReadonlyArray<unknown>, type: Arrow.Decimal): Arrow.Vector =>
  Arrow.makeVector(
    Arrow.makeData({
      type,
      ...fixedWidth(values, new Uint32Array(values.length * 4), (array, i, value) => {
        let word = BigInt.asUintN(128, value as bigint)
        for (let k = 0; k < 4; k++) {
          array[i * 4 + k] = Number(word & 0xffffffffn)
          word >>= 32n
        }
      })
    })
  )

/** One column as a vector, built directly for the common types and through Arrow's builders for the rest. */
const vectorOf = (values: ReadonlyArray<unknown>, type: DataType): Arrow.Vector => {
  const n = values.length
  const arrowType = arrowTypeOf(type)
  if (arrowType instanceof Arrow.Decimal) return decimalVector(values, arrowType)
  switch (type) {
    case "string":
      return utf8Vector(values)
    case "long":
      return Arrow.makeVector(
        Arrow.makeData({
          type: new Arrow.Int64(),
          ...fixedWidth(values, new BigInt64Array(n), (array, i, value) => {
            array[i] = value as bigint
          })
        })
      )
    case "double":
      return Arrow.makeVector(
        Arrow.makeData({ type: new Arrow.Float64(), ...fixedWidth(values, new Float64Array(n), setNumber) })
      )
    case "integer":
      return Arrow.makeVector(
        Arrow.makeData({ type: new Arrow.Int32(), ...fixedWidth(values, new Int32Array(n), setNumber) })
      )
    case "boolean":
      return Arrow.makeVector(
        Arrow.makeData({
          type: new Arrow.Bool(),
          ...fixedWidth(values, new Uint8Array(Math.ceil(n / 8)), (array, i, value) => {
            if (value === true) array[i >> 3]! |= 1 << (i & 7)
          })
        })
      )
    case "timestamp":
    case "timestamp_ntz":
      return Arrow.makeVector(
        Arrow.makeData({
          type: type === "timestamp" ? new Arrow.TimestampMillisecond("UTC") : new Arrow.TimestampMillisecond(),
          ...fixedWidth(values, new BigInt64Array(n), (array, i, value) => {
            array[i] = BigInt((value as Date).getTime())
          })
        })
      )
    default:
      return Arrow.vectorFromArray(
        values.map((value) => arrowValue(value, type)),
        arrowTypeOf(type)
      )
  }
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
        const decimal = typeof field.type === "string" ? decimalPattern.exec(field.type) : null
        // String bytes go into the Utf8 vector as they are: decoding them to JS strings would be thrown away.
        if (field.type === "string") for (let i = 0; i < numRows; i++) column[i] = raw?.[i] ?? null
        else if (decimal !== null) {
          const scale = Number(decimal[2])
          for (let i = 0; i < numRows; i++)
            column[i] = raw?.[i] == null ? null : (unscaledOf(raw[i], scale, node) ?? null)
        } else for (let i = 0; i < numRows; i++) column[i] = toDeltaValue(raw?.[i], field.type, node, mode)
      }
      columns.set(field.name, column)
    }
    if (deleted.length === 0 && where.length === 0) return columns
    const keep = new Uint8Array(numRows).fill(1)
    for (const row of deleted) keep[row] = 0
    for (const range of where) {
      const column = columns.get(range.column)
      const type = fields.find((field) => field.name === range.column)?.type
      const decimal = typeof type === "string" ? decimalPattern.exec(type) : null
      for (let i = 0; i < numRows; i++) {
        const value = column?.[i]
        // The filter compares values as rows hold them: strings as text, decimals as the reader returns them.
        const typed =
          type === "string" && value instanceof Uint8Array
            ? textOf.decode(value)
            : decimal !== null && typeof value === "bigint"
              ? decimalOf(value, Number(decimal[1]), Number(decimal[2]))
              : (value ?? null)
        if (keep[i] && !inRange(typed as Value, range)) keep[i] = 0
      }
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
