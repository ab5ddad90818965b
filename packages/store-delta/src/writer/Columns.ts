/**
 * What the writer takes, row objects or whole columns, turned into the arrays the Parquet encoder
 * writes: one pass per column that checks each value against the schema, converts it (typed arrays
 * for numbers, longs and timestamps) and gathers the Delta stats on the way.
 */
import { Either } from "effect"
import { type DataType, decimalPattern, type StructField } from "../reader/Schema.js"

export type Row = { readonly [column: string]: unknown }

/** One column's values: a plain array (nulls allowed where the schema allows them) or a typed array. */
export type ColumnValues =
  | ReadonlyArray<unknown>
  | BigInt64Array
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array

/**
 * Whole columns, all of one length. A `long` column may be a `BigInt64Array`; numbers may be typed
 * arrays of their width; a `timestamp` column may be a `BigInt64Array` of microseconds since the
 * epoch (Parquet's own unit) or a `Float64Array` of milliseconds; anything else is an array of the
 * values a row would hold.
 */
export interface ColumnBatch {
  readonly columns: { readonly [column: string]: ColumnValues }
}

/** What `append` and `writeDataFiles` write: rows, or a column batch. */
export type WriteInput = ReadonlyArray<Row> | ColumnBatch

/** The input as columns of one length: row objects are read once, a column at a time. */
export interface Columns {
  readonly length: number
  readonly column: (name: string) => ArrayLike<unknown> | undefined
}

const isColumnBatch = (input: WriteInput): input is ColumnBatch => !Array.isArray(input)

export const columnsOf = (input: WriteInput): Either.Either<Columns, string> => {
  if (!isColumnBatch(input)) {
    const rows = input
    const cache = new Map<string, Array<unknown>>()
    return Either.right({
      length: rows.length,
      column: (name) => {
        const cached = cache.get(name)
        if (cached !== undefined) return cached
        const values = new Array<unknown>(rows.length)
        for (let i = 0; i < rows.length; i++) values[i] = rows[i]![name]
        cache.set(name, values)
        return values
      }
    })
  }
  const entries = Object.entries(input.columns)
  const length = entries[0]?.[1].length ?? 0
  const uneven = entries.find(([, values]) => values.length !== length)
  if (uneven !== undefined) {
    return Either.left(`column "${uneven[0]}" has ${uneven[1].length} values where "${entries[0]![0]}" has ${length}`)
  }
  return Either.right({ length, column: (name) => input.columns[name] })
}

/** The rows of one data file: every row, or the ones at `indices` (a partition's). */
export interface Selection {
  readonly length: number
  readonly indices: ArrayLike<number> | undefined
}

export interface ColumnStats {
  readonly min: unknown
  readonly max: unknown
  readonly nullCount: number
}

export type Typed = BigInt64Array | Float64Array | Float32Array | Int32Array

export type EncodableColumn =
  /** Numbers, longs and timestamps: a typed array, and which rows hold a value when some are null. */
  | {
      readonly _tag: "typed"
      readonly data: Typed
      readonly valid: Uint8Array | undefined
      readonly stats: ColumnStats | undefined
    }
  /**
   * Anything else as the Parquet encoder takes it, nulls as `null`; `dictionary` when the whole column
   * has few distinct values, so its pages are dictionary-encoded.
   */
  | {
      readonly _tag: "values"
      readonly data: ReadonlyArray<unknown>
      readonly dictionary: boolean
      readonly stats: ColumnStats | undefined
    }

export const toDate = (value: unknown): Date | undefined => {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value
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

const maxLong = 2n ** 63n - 1n
const minLong = -(2n ** 63n)

const toLong = (value: unknown): bigint | undefined => {
  if (typeof value === "bigint") return value >= minLong && value <= maxLong ? value : undefined
  return typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : undefined
}

const toMicros = (value: unknown): bigint | undefined => {
  if (typeof value === "bigint") return value
  const date = toDate(value)
  return date === undefined ? undefined : BigInt(date.getTime()) * 1000n
}

const integerRange = { integer: 2 ** 31, short: 2 ** 15, byte: 2 ** 7 } as const

/** Marks a nested value that does not fit its type (`undefined` is taken, a missing struct field). */
const misfit: unique symbol = Symbol("misfit")

/** A map key given as an object's text, as the key type's value (`"5"` for a `long` key is `5n`). */
const keyFromText = (key: unknown, type: DataType): unknown => {
  if (typeof key !== "string") return key
  if (type === "long" && /^-?\d+$/.test(key)) return BigInt(key)
  if (type === "integer" || type === "short" || type === "byte" || type === "float" || type === "double") {
    return key.trim() === "" ? key : Number(key)
  }
  if (type === "boolean") return key === "true" ? true : key === "false" ? false : key
  return key
}

/**
 * A struct, array or map value with every leaf converted as a top-level column of its type would be
 * (decimals to their unscaled integer, longs to `bigint`, timestamps to microseconds), which is what
 * the Parquet encoder takes inside nested columns; `misfit` when a leaf does not fit or a non-nullable
 * one is null.
 */
const convertNested = (value: unknown, type: DataType, nullable: boolean): unknown => {
  if (value === null || value === undefined) return nullable ? null : misfit
  if (typeof type === "string") {
    const converted = typedTarget(type, 0)?.convert(value) ?? convertValue(value, type)
    return converted === undefined ? misfit : converted
  }
  switch (type.type) {
    case "struct": {
      if (typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) return misfit
      const source = value as Record<string, unknown>
      const out: Record<string, unknown> = {}
      for (const field of type.fields) {
        const inner = convertNested(source[field.name], field.type, field.nullable)
        if (inner === misfit) return misfit
        out[field.name] = inner
      }
      return out
    }
    case "array": {
      if (!Array.isArray(value)) return misfit
      const out = new Array<unknown>(value.length)
      for (let i = 0; i < value.length; i++) {
        const inner = convertNested(value[i], type.elementType, type.containsNull)
        if (inner === misfit) return misfit
        out[i] = inner
      }
      return out
    }
    case "map": {
      if (typeof value !== "object" || Array.isArray(value)) return misfit
      const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>)
      const out = new Map<unknown, unknown>()
      for (const [key, inner] of entries) {
        const typedKey = convertNested(keyFromText(key, type.keyType), type.keyType, false)
        const typedValue = convertNested(inner, type.valueType, type.valueContainsNull)
        if (typedKey === misfit || typedValue === misfit) return misfit
        out.set(typedKey, typedValue)
      }
      return out
    }
  }
}

/** Checks and converts one value of a type without a typed-array form; `undefined` means it does not fit. */
const convertValue = (value: unknown, type: DataType): unknown => {
  if (typeof type !== "string") {
    const converted = convertNested(value, type, true)
    return converted === misfit ? undefined : converted
  }
  switch (type) {
    case "string":
      return typeof value === "string" ? value : undefined
    case "boolean":
      return typeof value === "boolean" ? value : undefined
    case "binary":
      return value instanceof Uint8Array ? value : undefined
    case "date":
      return toDate(value)
    default: {
      const decimal = decimalPattern.exec(type)
      return decimal === null ? undefined : unscaledDecimal(value, Number(decimal[1]), Number(decimal[2]))
    }
  }
}

/** A typed array of `length` for the types written from one, with the function that converts a value into it. */
const typedTarget = (
  type: DataType,
  length: number
): { readonly array: Typed; readonly convert: (value: unknown) => number | bigint | undefined } | undefined => {
  switch (type) {
    case "long":
      return { array: new BigInt64Array(length), convert: toLong }
    case "timestamp":
    case "timestamp_ntz":
      return { array: new BigInt64Array(length), convert: toMicros }
    case "double":
      return { array: new Float64Array(length), convert: (v) => (typeof v === "number" ? v : undefined) }
    case "float":
      return { array: new Float32Array(length), convert: (v) => (typeof v === "number" ? v : undefined) }
    case "integer":
    case "short":
    case "byte": {
      const bound = integerRange[type]
      return {
        array: new Int32Array(length),
        convert: (v) => (typeof v === "number" && Number.isInteger(v) && v >= -bound && v < bound ? v : undefined)
      }
    }
    default:
      return undefined
  }
}

/** Whether a typed input array holds this type's values as the encoder writes them, so it is used as it is. */
const passesThrough = (values: ArrayLike<unknown>, type: DataType): boolean =>
  ((type === "long" || type === "timestamp" || type === "timestamp_ntz") && values instanceof BigInt64Array) ||
  (type === "double" && values instanceof Float64Array) ||
  (type === "float" && values instanceof Float32Array) ||
  (type === "integer" && values instanceof Int32Array)

/**
 * hyparquet-writer picks a dictionary from a sample of 1,000 evenly spaced values, which a column that
 * repeats with a period (`name-${i % 1000}`) fools into plain pages; counting the whole column's
 * distinct strings decides it for all of them. Past this many distinct values a dictionary is left to
 * the encoder's own choice.
 */
const dictionaryLimit = 65_536

const less = (a: unknown, b: unknown): boolean => (a as number) < (b as number)

/**
 * Converts one column for the rows of `selection`, checking every value; `stats` says whether to gather
 * min/max/nullCount. Left is the reason a value does not fit, naming its row.
 */
export const encodableColumn = (
  field: StructField,
  source: ArrayLike<unknown> | undefined,
  selection: Selection,
  stats: boolean
): Either.Either<EncodableColumn, string> => {
  const { length, indices } = selection
  const at = (i: number): unknown =>
    source === undefined ? undefined : source[indices === undefined ? i : indices[i]!]
  const wrong = (i: number) =>
    Either.left(
      `row ${indices === undefined ? i : indices[i]}: column "${field.name}" does not hold a ${JSON.stringify(field.type)}`
    )
  const notNullable = (i: number) =>
    Either.left(`row ${indices === undefined ? i : indices[i]}: column "${field.name}" is not nullable`)
  let min: unknown
  let max: unknown
  let nullCount = 0
  const target = typedTarget(field.type, length)
  if (target !== undefined) {
    const { array, convert } = target
    const direct = source !== undefined && indices === undefined && passesThrough(source, field.type)
    const out = direct ? (source as Typed) : array
    let valid: Uint8Array | undefined
    for (let i = 0; i < length; i++) {
      let value: number | bigint | undefined
      if (direct) value = out[i]!
      else {
        const raw = at(i)
        if (raw === null || raw === undefined) {
          if (!field.nullable) return notNullable(i)
          valid ??= new Uint8Array(length).fill(1)
          valid[i] = 0
          nullCount++
          continue
        }
        value = convert(raw)
        if (value === undefined) return wrong(i)
        out[i] = value
      }
      if (stats && !(typeof value === "number" && Number.isNaN(value))) {
        if (min === undefined || less(value, min)) min = value
        if (max === undefined || less(max, value)) max = value
      }
    }
    return Either.right({ _tag: "typed", data: out, valid, stats: stats ? { min, max, nullCount } : undefined })
  }
  const data = new Array<unknown>(length)
  const ordered = stats && typeof field.type === "string"
  // Distinct strings, counted until there are too many for a dictionary to pay.
  const distinct = field.type === "string" ? new Set<unknown>() : undefined
  const maxDistinct = Math.min(dictionaryLimit, Math.floor(length / 10))
  for (let i = 0; i < length; i++) {
    const raw = at(i)
    if (raw === null || raw === undefined) {
      if (!field.nullable) return notNullable(i)
      data[i] = null
      nullCount++
      continue
    }
    const value = convertValue(raw, field.type)
    if (value === undefined) return wrong(i)
    data[i] = value
    if (distinct !== undefined && distinct.size <= maxDistinct) distinct.add(value)
    if (ordered) {
      const key = value instanceof Date ? value.getTime() : value
      if (min === undefined || less(key, min)) min = key
      if (max === undefined || less(max, key)) max = key
    }
  }
  return Either.right({
    _tag: "values",
    data,
    dictionary: distinct !== undefined && distinct.size > 0 && distinct.size <= maxDistinct,
    stats: stats ? { min, max, nullCount } : undefined
  })
}
