/**
 * Delta types as Arrow types, and decoded Parquet values as Arrow's builders take them. Nested columns
 * are Arrow's own nested vectors (Struct, List, Map) with children typed as a top-level column of the
 * same type would be, so a consumer of the table needs no second decoding step.
 */
import * as Arrow from "apache-arrow"
import type { SchemaTree } from "hyparquet"
import { type DataType, decimalPattern } from "./Schema.js"
import {
  arrayValue,
  type Convert,
  listElement,
  mapKey,
  mapValue,
  structValue,
  timestampMillis,
  toDeltaValue,
  unscaledOf
} from "./Values.js"

/**
 * The Arrow type a Delta column reads as. Timestamps keep millisecond precision in UTC; decimals are
 * Arrow's 128-bit `Decimal` of the column's precision and scale (exact); a struct is an Arrow `Struct`
 * of its logical field names, an array a `List` whose child is named `element` (as Parquet's LIST and
 * delta-rs name it), a map a `Map` of `entries` structs with `key` and `value` children (Arrow's names).
 */
export const arrowTypeOf = (type: DataType): Arrow.DataType => {
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct":
        return new Arrow.Struct(
          type.fields.map((field) => new Arrow.Field(field.name, arrowTypeOf(field.type), field.nullable))
        )
      case "array":
        return new Arrow.List(new Arrow.Field("element", arrowTypeOf(type.elementType), type.containsNull))
      case "map":
        return new Arrow.Map_(
          new Arrow.Field(
            "entries",
            new Arrow.Struct<{ key: Arrow.DataType; value: Arrow.DataType }>([
              new Arrow.Field("key", arrowTypeOf(type.keyType), false),
              new Arrow.Field("value", arrowTypeOf(type.valueType), type.valueContainsNull)
            ]),
            false
          )
        )
    }
  }
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

/** A 128-bit two's-complement integer as Arrow's `Decimal` holds it: four little-endian 32-bit words. */
export const writeDecimalWords = (words: Uint32Array, slot: number, unscaled: bigint) => {
  let word = BigInt.asUintN(128, unscaled)
  for (let k = 0; k < 4; k++) {
    words[slot + k] = Number(word & 0xffffffffn)
    word >>= 32n
  }
}

/**
 * One decoded Parquet value (as hyparquet assembles it, decimals and INT64 timestamps as stored) as the
 * value Arrow's builder for `arrowTypeOf(type)` takes: epoch milliseconds for dates and timestamps, the
 * four words of a decimal, a `Map` with typed keys for a map, objects by logical name for a struct.
 */
export const toArrowValue: Convert = (value, type, node, mode) => {
  if (value === null || value === undefined) return null
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct":
        return structValue(value, type, node, mode, toArrowValue)
      case "array":
        return arrayValue(value, type, node, mode, toArrowValue)
      case "map": {
        const keyNode = mapKey(node)
        const valueNode = mapValue(node)
        const out = new Map<unknown, unknown>()
        for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
          out.set(
            toArrowValue(storedKey(key, type.keyType, keyNode), type.keyType, keyNode, mode),
            toArrowValue(inner, type.valueType, valueNode, mode)
          )
        }
        return out
      }
    }
  }
  const decimal = decimalPattern.exec(type)
  if (decimal !== null) {
    const unscaled = unscaledOf(value, Number(decimal[2]), node)
    if (unscaled === undefined) return null
    const words = new Uint32Array(4)
    writeDecimalWords(words, 0, unscaled)
    return words
  }
  switch (type) {
    case "date":
      return value instanceof Date ? value.getTime() : null
    case "timestamp":
    case "timestamp_ntz":
      return timestampMillis(value, node) ?? null
    default:
      return toDeltaValue(value, type, node, mode)
  }
}

/**
 * A map key back as hyparquet decoded it: it assembles a map as an object, so each key is the text of
 * its decoded value (`String(value)`), which is read back here by the key column's Parquet type.
 */
const storedKey = (text: string, type: DataType, node: SchemaTree | undefined): unknown => {
  if (typeof type !== "string") {
    // An array key prints as its elements' text joined by commas; a struct or map key prints as
    // "[object Object]", which holds nothing to read back.
    if (type.type !== "array" || typeof type.elementType !== "string") return null
    const element = listElement(node)
    return text === "" ? [] : text.split(",").map((item) => storedKey(item, type.elementType, element))
  }
  const physical = node?.element.type
  if (type === "date") return new Date(Date.parse(text))
  if (type === "boolean") return text === "true"
  if (physical === "BYTE_ARRAY" || physical === "FIXED_LEN_BYTE_ARRAY") {
    // A string key decodes to its text; bytes print as their comma-separated values.
    if (type === "string") return text
    return Uint8Array.from(text === "" ? [] : text.split(",").map(Number))
  }
  if (physical === "INT64") return BigInt(text)
  if (physical === "INT32" || physical === "FLOAT" || physical === "DOUBLE") return Number(text)
  return text
}
