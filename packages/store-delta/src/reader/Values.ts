/**
 * Values as a Delta reader returns them: typed by the table's schema, not by the data file's Parquet
 * types, so files written before a type change read as the widened type, strings written without a
 * UTF-8 annotation are strings, binary is always a `Uint8Array`, and nested fields carry their logical
 * names whatever the column mapping.
 */
import type { SchemaTree } from "hyparquet"
import { type ColumnMappingMode, findChild } from "./ColumnMapping.js"
import { type ArrayType, type DataType, decimalPattern, type StructType } from "./Schema.js"

const utf8 = new TextDecoder()
const utf8Bytes = new TextEncoder()

/** The element node of a Parquet list (three-level or legacy two-level). */
export const listElement = (node: SchemaTree | undefined): SchemaTree | undefined => {
  const repeated = node?.children[0]
  if (repeated === undefined) return undefined
  return repeated.element.repetition_type === "REPEATED" && repeated.children.length === 1
    ? repeated.children[0]
    : repeated
}

/** The key and value nodes of a Parquet MAP's repeated key_value group. */
export const mapKey = (node: SchemaTree | undefined): SchemaTree | undefined => node?.children[0]?.children[0]
export const mapValue = (node: SchemaTree | undefined): SchemaTree | undefined => node?.children[0]?.children[1]

const toNumber = (value: unknown): unknown => (typeof value === "bigint" ? Number(value) : value)

/** A big-endian two's-complement integer, as Parquet holds a decimal in a byte array. */
const signedBigEndian = (bytes: Uint8Array): bigint => {
  let value = 0n
  for (const byte of bytes) value = (value << 8n) | BigInt(byte)
  return bytes.length > 0 && bytes[0]! >= 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value
}

/**
 * A timestamp column's value in milliseconds: from the stored integer in the unit the file's column
 * says (the reader has hyparquet leave INT64 timestamps as stored), or from the `Date` hyparquet makes
 * of an INT96 one.
 */
export const timestampMillis = (value: unknown, node: SchemaTree | undefined): number | undefined => {
  if (value instanceof Date) return value.getTime()
  if (typeof value !== "bigint") return undefined
  const element = node?.element
  const unit =
    element?.logical_type?.type === "TIMESTAMP"
      ? element.logical_type.unit
      : element?.converted_type === "TIMESTAMP_MILLIS"
        ? "MILLIS"
        : "MICROS"
  const perMilli = unit === "MILLIS" ? 1n : unit === "MICROS" ? 1000n : 1_000_000n
  // Rounded down, so a time before 1970 with a fraction of a millisecond stays before its millisecond.
  const millis = value / perMilli - (value % perMilli < 0n ? 1n : 0n)
  return Number(millis)
}

/** Decimals up to this precision read as numbers: a double holds every value of 15 digits exactly. */
export const exactDoubleDigits = 15

/**
 * A decimal column's value as its unscaled integer at the table's `scale`. The reader has hyparquet
 * leave decimals as stored (int32, int64 or bytes: its own conversion multiplies by a power of ten in
 * doubles), so the file's scale applies here; a file written before the column was widened (a smaller
 * scale, or an integer column) is rescaled exactly.
 */
export const unscaledOf = (value: unknown, scale: number, node: SchemaTree | undefined): bigint | undefined => {
  const unscaled =
    value instanceof Uint8Array
      ? signedBigEndian(value)
      : typeof value === "bigint"
        ? value
        : typeof value === "number" && Number.isInteger(value)
          ? BigInt(value)
          : undefined
  if (unscaled === undefined) return undefined
  const element = node?.element
  const logical = element?.logical_type
  const fileScale =
    element?.converted_type === "DECIMAL" ? (element.scale ?? 0) : logical?.type === "DECIMAL" ? logical.scale : 0
  return scale > fileScale ? unscaled * 10n ** BigInt(scale - fileScale) : unscaled
}

/** The decimal's exact text, with the scale's fractional digits (`-1234.5600` at scale 4). */
export const decimalText = (unscaled: bigint, scale: number): string => {
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, "0")
  const sign = unscaled < 0n ? "-" : ""
  return scale === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`
}

/**
 * How a reader returns a decimal: a number to 15 digits of precision (the unscaled integer over an
 * exact power of ten, which rounds to the double that prints as the decimal), the exact text beyond.
 */
export const decimalOf = (unscaled: bigint, precision: number, scale: number): number | string =>
  precision <= exactDoubleDigits ? Number(unscaled) / 10 ** scale : decimalText(unscaled, scale)

const decimalValue = (value: unknown, precision: number, scale: number, node: SchemaTree | undefined): unknown => {
  const unscaled = unscaledOf(value, scale, node)
  return unscaled === undefined ? toNumber(value) : decimalOf(unscaled, precision, scale)
}

/** Converts a decoded value of `type` whose Parquet node is `node`: the leaf conversions of a reader. */
export type Convert = (value: unknown, type: DataType, node: SchemaTree | undefined, mode: ColumnMappingMode) => unknown

/** A decoded struct by its logical field names, each field converted by `convert` (null where the file lacks it). */
export const structValue = (
  value: unknown,
  type: StructType,
  node: SchemaTree | undefined,
  mode: ColumnMappingMode,
  convert: Convert
): Record<string, unknown> => {
  const source = value as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const field of type.fields) {
    const child = findChild(node, field, mode)
    out[field.name] = child === undefined ? null : convert(source[child.element.name], field.type, child, mode)
  }
  return out
}

/** A decoded list, each element converted by `convert`. */
export const arrayValue = (
  value: unknown,
  type: ArrayType,
  node: SchemaTree | undefined,
  mode: ColumnMappingMode,
  convert: Convert
): Array<unknown> => {
  const element = listElement(node)
  return (value as ReadonlyArray<unknown>).map((item) => convert(item, type.elementType, element, mode))
}

/** Converts one decoded Parquet value to the Delta type of its column. */
export const toDeltaValue = (
  value: unknown,
  type: DataType,
  node: SchemaTree | undefined,
  mode: ColumnMappingMode
): unknown => {
  if (value === null || value === undefined) return null
  if (typeof type === "string") {
    switch (type) {
      case "string":
        return value instanceof Uint8Array ? utf8.decode(value) : value
      case "binary":
        return typeof value === "string" ? utf8Bytes.encode(value) : value
      case "long":
        return typeof value === "number" ? BigInt(value) : value
      case "byte":
      case "short":
      case "integer":
      case "float":
      case "double":
        return toNumber(value)
      case "timestamp":
      case "timestamp_ntz": {
        const millis = timestampMillis(value, node)
        return millis === undefined ? value : new Date(millis)
      }
      default: {
        const decimal = decimalPattern.exec(type)
        return decimal === null ? value : decimalValue(value, Number(decimal[1]), Number(decimal[2]), node)
      }
    }
  }
  switch (type.type) {
    case "struct":
      return structValue(value, type, node, mode, toDeltaValue)
    case "array":
      return arrayValue(value, type, node, mode, toDeltaValue)
    case "map": {
      // hyparquet assembles a map as an object keyed by the keys' text, which is also how JSON holds one.
      const valueNode = mapValue(node)
      const out: Record<string, unknown> = {}
      for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
        out[key] = toDeltaValue(inner, type.valueType, valueNode, mode)
      }
      return out
    }
  }
}
