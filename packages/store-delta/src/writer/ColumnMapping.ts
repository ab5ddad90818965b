/**
 * Writing to a column-mapping table: data files, stats and partition values use each column's
 * physical name (`delta.columnMapping.physicalName`) at every depth, and Parquet fields carry the
 * column's `delta.columnMapping.id`, so readers in either mode find them. Rows come in by logical name,
 * as they are read; the writer renames them at this boundary and works on physical names after it.
 */
import { type ColumnMappingMode, physicalName } from "../reader/ColumnMapping.js"
import type { DataType, StructField, StructType } from "../reader/Schema.js"
import type { Columns } from "./Columns.js"

const physicalType = (type: DataType, mode: ColumnMappingMode): DataType => {
  if (typeof type === "string") return type
  switch (type.type) {
    case "struct":
      return { type: "struct", fields: type.fields.map((field) => physicalField(field, mode)) }
    case "array":
      return { ...type, elementType: physicalType(type.elementType, mode) }
    case "map":
      return { ...type, keyType: physicalType(type.keyType, mode), valueType: physicalType(type.valueType, mode) }
  }
}

/** The field under its physical name, nested fields too; metadata (with the field id) is kept. */
export const physicalField = (field: StructField, mode: ColumnMappingMode): StructField => ({
  ...field,
  name: physicalName(field, mode),
  type: physicalType(field.type, mode)
})

const holdsStruct = (type: DataType): boolean =>
  typeof type !== "string" &&
  (type.type === "struct" ||
    (type.type === "array" && holdsStruct(type.elementType)) ||
    (type.type === "map" && (holdsStruct(type.keyType) || holdsStruct(type.valueType))))

/** A value of the logical `type` with every struct's keys renamed to the physical names. */
const physicalValue = (value: unknown, type: DataType, mode: ColumnMappingMode): unknown => {
  if (value === null || value === undefined || typeof type === "string") return value
  switch (type.type) {
    case "struct": {
      if (typeof value !== "object") return value
      const source = value as Record<string, unknown>
      const out: Record<string, unknown> = {}
      for (const field of type.fields)
        out[physicalName(field, mode)] = physicalValue(source[field.name], field.type, mode)
      return out
    }
    case "array":
      return Array.isArray(value) ? value.map((item) => physicalValue(item, type.elementType, mode)) : value
    case "map": {
      if (typeof value !== "object") return value
      const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>)
      return new Map(
        entries.map(([key, inner]) => [
          physicalValue(key, type.keyType, mode),
          physicalValue(inner, type.valueType, mode)
        ])
      )
    }
  }
}

export interface PhysicalTable {
  readonly schema: StructType
  readonly partitionColumns: ReadonlyArray<string>
  readonly columns: Columns
  /** A logical column name (as `statsColumns` gives them) as its physical name. */
  readonly physical: (logical: string) => string
}

/** The schema, partition columns and input of a write under physical names (as they are without mapping). */
export const physicalTable = (
  schema: StructType,
  partitionColumns: ReadonlyArray<string>,
  columns: Columns,
  mode: ColumnMappingMode
): PhysicalTable => {
  if (mode === "none") return { schema, partitionColumns, columns, physical: (name) => name }
  const byLogical = new Map(schema.fields.map((field) => [field.name, field]))
  const byPhysical = new Map(schema.fields.map((field) => [physicalName(field, mode), field]))
  const physical = (logical: string) => {
    const field = byLogical.get(logical)
    return field === undefined ? logical : physicalName(field, mode)
  }
  const renamed = new Map<string, ArrayLike<unknown> | undefined>()
  return {
    schema: { type: "struct", fields: schema.fields.map((field) => physicalField(field, mode)) },
    partitionColumns: partitionColumns.map(physical),
    physical,
    columns: {
      length: columns.length,
      column: (name) => {
        const field = byPhysical.get(name)
        if (field === undefined) return undefined
        const values = columns.column(field.name)
        if (values === undefined || !holdsStruct(field.type)) return values
        const cached = renamed.get(name)
        if (cached !== undefined) return cached
        const out = Array.from(values, (value) => physicalValue(value, field.type, mode))
        renamed.set(name, out)
        return out
      }
    }
  }
}
