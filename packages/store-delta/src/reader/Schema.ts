import { Either, ParseResult, Schema } from "effect"

/** A Delta (Spark) data type as it appears in `metaData.schemaString`. */
export type DataType = string | StructType | ArrayType | MapType

export interface StructField {
  readonly name: string
  readonly type: DataType
  readonly nullable: boolean
  readonly metadata: { readonly [key: string]: unknown }
}

export interface StructType {
  readonly type: "struct"
  readonly fields: ReadonlyArray<StructField>
}

export interface ArrayType {
  readonly type: "array"
  readonly elementType: DataType
  readonly containsNull: boolean
}

export interface MapType {
  readonly type: "map"
  readonly keyType: DataType
  readonly valueType: DataType
  readonly valueContainsNull: boolean
}

// The encoded side differs only in that field `metadata` may be omitted.
type DataTypeEncoded = string | StructTypeEncoded | ArrayTypeEncoded | MapTypeEncoded
interface StructTypeEncoded {
  readonly type: "struct"
  readonly fields: ReadonlyArray<{
    readonly name: string
    readonly type: DataTypeEncoded
    readonly nullable: boolean
    readonly metadata?: { readonly [key: string]: unknown } | undefined
  }>
}
interface ArrayTypeEncoded {
  readonly type: "array"
  readonly elementType: DataTypeEncoded
  readonly containsNull: boolean
}
interface MapTypeEncoded {
  readonly type: "map"
  readonly keyType: DataTypeEncoded
  readonly valueType: DataTypeEncoded
  readonly valueContainsNull: boolean
}

const DataTypeSchema: Schema.Schema<DataType, DataTypeEncoded> = Schema.Union(
  Schema.String,
  Schema.suspend((): Schema.Schema<StructType, StructTypeEncoded> => StructTypeSchema),
  Schema.Struct({
    type: Schema.Literal("array"),
    elementType: Schema.suspend(() => DataTypeSchema),
    containsNull: Schema.Boolean
  }),
  Schema.Struct({
    type: Schema.Literal("map"),
    keyType: Schema.suspend(() => DataTypeSchema),
    valueType: Schema.suspend(() => DataTypeSchema),
    valueContainsNull: Schema.Boolean
  })
)

const StructTypeSchema: Schema.Schema<StructType, StructTypeEncoded> = Schema.Struct({
  type: Schema.Literal("struct"),
  fields: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      type: DataTypeSchema,
      nullable: Schema.Boolean,
      metadata: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), {
        default: () => ({})
      })
    })
  )
})

const decodeStruct = Schema.decodeUnknownEither(StructTypeSchema)

export const parseSchemaString = (schemaString: string): Either.Either<StructType, string> => {
  let json: unknown
  try {
    json = JSON.parse(schemaString)
  } catch (cause) {
    return Either.left(`schemaString is not JSON: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
  return Either.mapLeft(
    decodeStruct(json),
    (error) => `invalid schemaString: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
  )
}

export const isStruct = (type: DataType): type is StructType => typeof type === "object" && type.type === "struct"

export const decimalPattern = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/

/** A partition value or a stats bound, typed by its column's Delta type. */
export type Value = string | number | bigint | boolean | Date | Uint8Array | null

const parseTimestamp = (text: string): Date => {
  // Partition values use `YYYY-MM-DD HH:MM:SS[.ffffff]` (taken as UTC) or an ISO-8601 instant.
  const spaced = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?$/.exec(text)
  if (spaced) {
    const fraction = (spaced[3] ?? "").slice(0, 4)
    return new Date(`${spaced[1]}T${spaced[2]}${fraction}Z`)
  }
  return new Date(text)
}

/**
 * Types a serialized partition value by the column's Delta type, following the protocol's
 * "Partition Value Serialization". An empty string is null for every type but string.
 */
export const parsePartitionValue = (raw: string | null | undefined, type: DataType): Value => {
  if (raw === null || raw === undefined) return null
  if (typeof type !== "string") return raw
  if (type === "string") return raw
  if (raw === "") return null
  switch (type) {
    case "byte":
    case "short":
    case "integer":
    case "float":
    case "double":
      return Number(raw)
    case "long":
      return BigInt(raw)
    case "boolean":
      return raw === "true"
    case "date":
      return new Date(`${raw}T00:00:00Z`)
    case "timestamp":
    case "timestamp_ntz":
      return parseTimestamp(raw)
    case "binary":
      return Uint8Array.from(raw, (char) => char.charCodeAt(0))
    default:
      return decimalPattern.test(type) ? Number(raw) : raw
  }
}

/** Types a JSON stats bound (`minValues`/`maxValues`) by the column's Delta type. */
export const parseStatsValue = (raw: unknown, type: DataType): Value | undefined => {
  if (raw === null) return null
  if (typeof raw === "number") return type === "long" ? BigInt(Math.trunc(raw)) : raw
  if (typeof raw === "boolean") return raw
  if (typeof raw !== "string") return undefined
  switch (type) {
    case "date":
      return new Date(`${raw}T00:00:00Z`)
    case "timestamp":
    case "timestamp_ntz":
      return parseTimestamp(raw)
    default:
      return raw
  }
}
