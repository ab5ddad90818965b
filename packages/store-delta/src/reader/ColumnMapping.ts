/**
 * Column mapping: with mode `name` or `id` a column's name in the data files (and in partition values
 * and stats) is its physical name, or the file's column is found by its Parquet field id.
 */
import type { SchemaTree } from "hyparquet"
import type { Metadata, Protocol } from "./Actions.js"
import type { StructField } from "./Schema.js"

export type ColumnMappingMode = "none" | "name" | "id"

/**
 * The mode the table is read with. The property only counts where the protocol supports the feature
 * (reader version 2, or 3 with `columnMapping` listed), as the protocol says.
 */
export const columnMappingProperty = (protocol: Protocol, metadata: Metadata): string => {
  const supported =
    protocol.minReaderVersion === 2 ||
    (protocol.minReaderVersion === 3 && (protocol.readerFeatures ?? []).includes("columnMapping"))
  if (!supported) return "none"
  return metadata.configuration?.["delta.columnMapping.mode"] ?? "none"
}

export const isColumnMappingMode = (mode: string): mode is ColumnMappingMode =>
  mode === "none" || mode === "name" || mode === "id"

/** The name a field has in data files, partition values and stats. */
export const physicalName = (field: StructField, mode: ColumnMappingMode): string => {
  if (mode === "none") return field.name
  const physical = field.metadata["delta.columnMapping.physicalName"]
  return typeof physical === "string" ? physical : field.name
}

const fieldId = (field: StructField): number | undefined => {
  const id = field.metadata["delta.columnMapping.id"]
  return typeof id === "number" ? id : undefined
}

/** The child of a Parquet group that holds a Delta field, or undefined when the file has no such column. */
export const findChild = (
  group: SchemaTree | undefined,
  field: StructField,
  mode: ColumnMappingMode
): SchemaTree | undefined => {
  if (group === undefined) return undefined
  if (mode === "id") {
    const id = fieldId(field)
    return id === undefined ? undefined : group.children.find((child) => child.element.field_id === id)
  }
  const name = physicalName(field, mode)
  return group.children.find((child) => child.element.name === name)
}
