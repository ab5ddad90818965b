import type { SchemaElement } from "hyparquet"
import { type DataType, decimalPattern, type StructField } from "../reader/Schema.js"

type Repetition = "REQUIRED" | "OPTIONAL" | "REPEATED"

/** Bytes of a two's-complement integer that holds every `precision`-digit value. */
const decimalBytes = (precision: number): number => {
  let bytes = 1
  while (2n ** BigInt(8 * bytes - 1) < 10n ** BigInt(precision)) bytes++
  return bytes
}

const primitive = (name: string, type: string, repetition: Repetition): SchemaElement => {
  const base = { name, repetition_type: repetition }
  switch (type) {
    case "string":
      return { ...base, type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } }
    case "long":
      return { ...base, type: "INT64" }
    case "integer":
      return { ...base, type: "INT32" }
    case "short":
      return { ...base, type: "INT32", converted_type: "INT_16" }
    case "byte":
      return { ...base, type: "INT32", converted_type: "INT_8" }
    case "double":
      return { ...base, type: "DOUBLE" }
    case "float":
      return { ...base, type: "FLOAT" }
    case "boolean":
      return { ...base, type: "BOOLEAN" }
    case "binary":
      return { ...base, type: "BYTE_ARRAY" }
    case "date":
      return { ...base, type: "INT32", converted_type: "DATE", logical_type: { type: "DATE" } }
    case "timestamp":
      // Delta `timestamp` is an instant: parquet TIMESTAMP(MICROS) adjusted to UTC, as Spark writes it.
      return {
        ...base,
        type: "INT64",
        converted_type: "TIMESTAMP_MICROS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" }
      }
    case "timestamp_ntz":
      return { ...base, type: "INT64", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: false, unit: "MICROS" } }
    default: {
      const decimal = decimalPattern.exec(type)
      if (decimal === null) throw new Error(`no parquet mapping for Delta type "${type}"`)
      const precision = Number(decimal[1])
      const scale = Number(decimal[2])
      if (precision > 38) throw new Error(`decimal(${precision},${scale}) is wider than Delta's 38 digits`)
      // As Spark writes them: INT32 to 9 digits, INT64 to 18, then the fewest bytes that hold the precision.
      const physical =
        precision <= 9
          ? { type: "INT32" as const }
          : precision <= 18
            ? { type: "INT64" as const }
            : { type: "FIXED_LEN_BYTE_ARRAY" as const, type_length: decimalBytes(precision) }
      return {
        ...base,
        ...physical,
        converted_type: "DECIMAL",
        precision,
        scale,
        logical_type: { type: "DECIMAL", precision, scale }
      }
    }
  }
}

/** A column-mapping table's field id (`delta.columnMapping.id`), written as the Parquet field's `field_id`. */
const fieldIdOf = (field: StructField): { readonly field_id?: number } => {
  const id = field.metadata["delta.columnMapping.id"]
  return typeof id === "number" ? { field_id: id } : {}
}

/** The parquet schema elements of a struct field, with its field id when it has one. */
const structFieldElements = (field: StructField): Array<SchemaElement> => {
  const [head, ...rest] = fieldElements(field.name, field.type, field.nullable)
  return [{ ...head!, ...fieldIdOf(field) }, ...rest]
}

/** The parquet schema elements (depth first) for one Delta field, using the standard LIST and MAP layouts. */
export const fieldElements = (name: string, type: DataType, nullable: boolean): Array<SchemaElement> => {
  const repetition: Repetition = nullable ? "OPTIONAL" : "REQUIRED"
  if (typeof type === "string") return [primitive(name, type, repetition)]
  switch (type.type) {
    case "struct":
      return [
        { name, repetition_type: repetition, num_children: type.fields.length },
        ...type.fields.flatMap(structFieldElements)
      ]
    case "array":
      return [
        { name, repetition_type: repetition, num_children: 1, converted_type: "LIST", logical_type: { type: "LIST" } },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        ...fieldElements("element", type.elementType, type.containsNull)
      ]
    case "map":
      return [
        { name, repetition_type: repetition, num_children: 1, converted_type: "MAP", logical_type: { type: "MAP" } },
        { name: "key_value", repetition_type: "REPEATED", num_children: 2 },
        ...fieldElements("key", type.keyType, false),
        ...fieldElements("value", type.valueType, type.valueContainsNull)
      ]
  }
}

export const parquetSchemaOf = (fields: ReadonlyArray<StructField>): Array<SchemaElement> => [
  { name: "spark_schema", num_children: fields.length },
  ...fields.flatMap(structFieldElements)
]
