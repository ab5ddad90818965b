/**
 * Values as a Delta reader returns them: typed by the table's schema, not by the data file's Parquet
 * types, so files written before a type change read as the widened type, strings written without a
 * UTF-8 annotation are strings, binary is always a `Uint8Array`, and nested fields carry their logical
 * names whatever the column mapping.
 */
import type { SchemaTree } from "hyparquet"
import { type ColumnMappingMode, findChild } from "./ColumnMapping.js"
import { type DataType, decimalPattern } from "./Schema.js"

const utf8 = new TextDecoder()
const utf8Bytes = new TextEncoder()

/** The element node of a Parquet list (three-level or legacy two-level). */
const listElement = (node: SchemaTree | undefined): SchemaTree | undefined => {
  const repeated = node?.children[0]
  if (repeated === undefined) return undefined
  return repeated.element.repetition_type === "REPEATED" && repeated.children.length === 1
    ? repeated.children[0]
    : repeated
}

const mapValue = (node: SchemaTree | undefined): SchemaTree | undefined => node?.children[0]?.children[1]

const toNumber = (value: unknown): unknown => (typeof value === "bigint" ? Number(value) : value)

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
      default:
        return decimalPattern.test(type) ? toNumber(value) : value
    }
  }
  switch (type.type) {
    case "struct": {
      const source = value as Record<string, unknown>
      const out: Record<string, unknown> = {}
      for (const field of type.fields) {
        const child = findChild(node, field, mode)
        out[field.name] = child === undefined ? null : toDeltaValue(source[child.element.name], field.type, child, mode)
      }
      return out
    }
    case "array": {
      const element = listElement(node)
      return (value as ReadonlyArray<unknown>).map((item) => toDeltaValue(item, type.elementType, element, mode))
    }
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
