import { Option } from "effect"
import type { Metadata, Protocol } from "./Actions.js"
import { type DataType, decimalPattern, type StructType } from "./Schema.js"

/** Reader features this library implements. Any other listed reader feature makes a table unreadable here. */
export const supportedReaderFeatures: ReadonlySet<string> = new Set([
  "columnMapping",
  "deletionVectors",
  "timestampNtz",
  "typeWidening",
  "typeWidening-preview",
  "v2Checkpoint",
  "vacuumProtocolCheck"
])

/**
 * Features that only bind writers (the protocol's "Writers only" list and the newer writer features).
 * A reader may ignore them even where a writer listed them among `readerFeatures`.
 */
export const writerOnlyFeatures: ReadonlySet<string> = new Set([
  "appendOnly",
  "invariants",
  "checkConstraints",
  "generatedColumns",
  "allowColumnDefaults",
  "changeDataFeed",
  "identityColumns",
  "rowTracking",
  "domainMetadata",
  "icebergCompatV1",
  "icebergCompatV2",
  "clustering",
  "inCommitTimestamp",
  "checkpointProtection"
])

export interface MissingFeature {
  readonly feature: string
  readonly detail: string
}

const missing = (feature: string, detail: string): Option.Option<MissingFeature> => Option.some({ feature, detail })

/** The first reader feature the table's protocol needs and this reader lacks, following the feature rules. */
export const missingReaderFeature = (protocol: Protocol): Option.Option<MissingFeature> => {
  const { minReaderVersion } = protocol
  if (minReaderVersion > 3) {
    return missing(
      `readerVersion${minReaderVersion}`,
      `minReaderVersion ${minReaderVersion} is newer than the highest this reader knows (3)`
    )
  }
  if (minReaderVersion === 3) {
    for (const feature of protocol.readerFeatures ?? []) {
      if (!supportedReaderFeatures.has(feature) && !writerOnlyFeatures.has(feature)) {
        return missing(feature, `reader feature "${feature}" is listed in the table's protocol`)
      }
    }
  }
  return Option.none()
}

// The protocol's supported widenings: integers to wider integers, to double or to a wide enough
// decimal; float to double; date to timestamp_ntz; decimals to more digits on both sides.
const integerWidth: Readonly<Record<string, number>> = { byte: 1, short: 2, integer: 3, long: 4 }
const integerDigits: Readonly<Record<string, number>> = { byte: 10, short: 10, integer: 10, long: 20 }

const decimalOf = (type: string): { precision: number; scale: number } | undefined => {
  const match = decimalPattern.exec(type)
  return match ? { precision: Number(match[1]), scale: Number(match[2]) } : undefined
}

export const isSupportedWidening = (from: string, to: string): boolean => {
  const fromInt = integerWidth[from]
  const toInt = integerWidth[to]
  if (fromInt !== undefined && toInt !== undefined) return fromInt < toInt
  if (to === "double") return from === "float" || (fromInt !== undefined && from !== "long")
  if (from === "date") return to === "timestamp_ntz"
  const target = decimalOf(to)
  if (target === undefined) return false
  const source = decimalOf(from)
  if (source !== undefined) {
    const k2 = target.scale - source.scale
    return k2 >= 0 && target.precision - source.precision >= k2
  }
  const digits = integerDigits[from]
  return digits !== undefined && target.precision - digits >= target.scale
}

/**
 * What the schema itself needs beyond the protocol: `variant` columns this reader cannot decode, and
 * recorded type changes it cannot apply (readers must fail on those, the protocol says).
 */
export const missingSchemaFeature = (schema: StructType): Option.Option<MissingFeature> => {
  const visit = (type: DataType, path: string): Option.Option<MissingFeature> => {
    if (typeof type === "string") {
      return type === "variant"
        ? missing("variantType", `column ${path} is a variant, which this reader does not decode`)
        : Option.none()
    }
    switch (type.type) {
      case "array":
        return visit(type.elementType, `${path}.element`)
      case "map":
        return Option.orElse(visit(type.keyType, `${path}.key`), () => visit(type.valueType, `${path}.value`))
      case "struct":
        for (const field of type.fields) {
          const name = path === "" ? field.name : `${path}.${field.name}`
          const changes = field.metadata["delta.typeChanges"]
          for (const change of Array.isArray(changes) ? changes : []) {
            const { fromType, toType } = (change ?? {}) as { fromType?: unknown; toType?: unknown }
            if (typeof fromType !== "string" || typeof toType !== "string" || !isSupportedWidening(fromType, toType)) {
              return missing(
                "typeWidening",
                `column ${name} records a type change ${JSON.stringify(change)} this reader cannot apply`
              )
            }
          }
          const inner = visit(field.type, name)
          if (Option.isSome(inner)) return inner
        }
        return Option.none()
    }
  }
  return visit(schema, "")
}

/** Features this library's writer implements: the ones its own tables need. */
export const supportedWriterFeatures: ReadonlySet<string> = new Set([
  "timestampNtz",
  "deletionVectors",
  "columnMapping"
])

const hasGeneratedColumn = (type: DataType): boolean =>
  typeof type !== "string" &&
  (type.type === "struct"
    ? type.fields.some((field) => "delta.generationExpression" in field.metadata || hasGeneratedColumn(field.type))
    : type.type === "array"
      ? hasGeneratedColumn(type.elementType)
      : hasGeneratedColumn(type.keyType) || hasGeneratedColumn(type.valueType))

/**
 * What this writer may not touch. Writer versions 3 to 5 bring check constraints (3), generated
 * columns and the change data feed (4) and column mapping (5): blind appends are correct there when
 * the table defines no constraint (`delta.constraints.*`) and no generation expression, whose rules
 * this writer does not evaluate; the change data feed needs no change files for inserts. Version 6
 * (identity columns, whose values a writer must generate) is refused, and at version 7 any listed
 * feature this writer does not implement.
 */
export const missingWriterFeature = (
  protocol: Protocol,
  metadata: Metadata,
  schema: StructType
): Option.Option<MissingFeature> => {
  const { minWriterVersion } = protocol
  if (minWriterVersion <= 2) return Option.none()
  if (minWriterVersion <= 5) {
    const constraint = Object.keys(metadata.configuration ?? {}).find((key) => key.startsWith("delta.constraints."))
    if (constraint !== undefined) {
      return missing("checkConstraints", `the table defines ${constraint}, which this writer does not evaluate`)
    }
    if (minWriterVersion >= 4 && hasGeneratedColumn(schema)) {
      return missing(
        "generatedColumns",
        "a column has a delta.generationExpression, which this writer does not compute"
      )
    }
    return Option.none()
  }
  if (minWriterVersion === 7 && protocol.minReaderVersion <= 3) {
    const listed = [...(protocol.readerFeatures ?? []), ...(protocol.writerFeatures ?? [])]
    const unsupported = listed.find((feature) => !supportedWriterFeatures.has(feature))
    return unsupported === undefined
      ? Option.none()
      : missing(unsupported, `writer feature "${unsupported}" needs rules this writer does not enforce`)
  }
  return missing(
    `writerVersion${minWriterVersion}`,
    `minWriterVersion ${minWriterVersion} needs rules this writer (versions 2 to 5 without constraints or generated columns, and 7) does not enforce`
  )
}

/** The Delta primitive type names. */
export const primitiveTypes: ReadonlySet<string> = new Set([
  "string",
  "long",
  "integer",
  "short",
  "byte",
  "double",
  "float",
  "boolean",
  "binary",
  "date",
  "timestamp",
  "timestamp_ntz"
])

const primitivesOf = (type: DataType): Array<string> => {
  if (typeof type === "string") return [type]
  switch (type.type) {
    case "struct":
      return type.fields.flatMap((field) => primitivesOf(field.type))
    case "array":
      return primitivesOf(type.elementType)
    case "map":
      return [...primitivesOf(type.keyType), ...primitivesOf(type.valueType)]
  }
}

/** A type in the schema this writer cannot write (a decimal over 38 digits, `variant`, an unknown name). */
export const unwritableType = (schema: StructType): Option.Option<string> =>
  Option.fromNullable(
    primitivesOf(schema).find((type) => {
      const decimal = decimalPattern.exec(type)
      if (decimal !== null)
        return Number(decimal[1]) < 1 || Number(decimal[1]) > 38 || Number(decimal[2]) > Number(decimal[1])
      return !primitiveTypes.has(type)
    })
  )

/**
 * The protocol a new table with this schema needs: 1/2, or 3/7 listing `timestampNtz` in both feature
 * lists when a column (at any depth) is a `timestamp_ntz`, as the protocol requires.
 */
export const protocolForSchema = (schema: StructType): Protocol =>
  primitivesOf(schema).includes("timestamp_ntz")
    ? { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ["timestampNtz"], writerFeatures: ["timestampNtz"] }
    : { minReaderVersion: 1, minWriterVersion: 2 }
