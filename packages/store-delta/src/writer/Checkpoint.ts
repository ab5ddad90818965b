import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { ByteWriter, parquetWrite } from "hyparquet-writer"
import { io, removeFile, writeDurable } from "../Fs.js"
import { checkpointFileName, logDir } from "../reader/Listing.js"
import type { DataType, StructField, StructType } from "../reader/Schema.js"
import type { Snapshot } from "../reader/Snapshot.js"
import type { Protocol } from "../reader/Actions.js"
import { deletedFileRetentionMs } from "./Config.js"
import { parquetSchemaOf } from "./ParquetSchema.js"

const field = (name: string, type: DataType): StructField => ({ name, type, nullable: true, metadata: {} })
const struct = (...fields: ReadonlyArray<StructField>): StructType => ({ type: "struct", fields })
const stringMap: DataType = { type: "map", keyType: "string", valueType: "string", valueContainsNull: true }
const stringArray: DataType = { type: "array", elementType: "string", containsNull: true }

const protocolColumn = (features: boolean): StructField =>
  field(
    "protocol",
    features
      ? struct(
          field("minReaderVersion", "integer"),
          field("minWriterVersion", "integer"),
          field("readerFeatures", stringArray),
          field("writerFeatures", stringArray)
        )
      : struct(field("minReaderVersion", "integer"), field("minWriterVersion", "integer"))
  )

/** The checkpoint schema of the protocol for a reader 1 / writer 2 table. */
export const checkpointSchema: StructType = struct(
  field("txn", struct(field("appId", "string"), field("version", "long"), field("lastUpdated", "long"))),
  field(
    "add",
    struct(
      field("path", "string"),
      field("partitionValues", stringMap),
      field("size", "long"),
      field("modificationTime", "long"),
      field("dataChange", "boolean"),
      field("tags", stringMap),
      field("stats", "string")
    )
  ),
  field(
    "remove",
    struct(
      field("path", "string"),
      field("deletionTimestamp", "long"),
      field("dataChange", "boolean"),
      field("extendedFileMetadata", "boolean"),
      field("partitionValues", stringMap),
      field("size", "long")
    )
  ),
  field(
    "metaData",
    struct(
      field("id", "string"),
      field("name", "string"),
      field("description", "string"),
      field("format", struct(field("provider", "string"), field("options", stringMap))),
      field("schemaString", "string"),
      field("partitionColumns", stringArray),
      field("configuration", stringMap),
      field("createdTime", "long")
    )
  ),
  protocolColumn(false)
)

/** The protocol's `deletionVector` struct of add and remove actions. */
const deletionVectorColumn = field(
  "deletionVector",
  struct(
    field("storageType", "string"),
    field("pathOrInlineDv", "string"),
    field("offset", "integer"),
    field("sizeInBytes", "integer"),
    field("cardinality", "long"),
    field("maxRowIndex", "long")
  )
)

const withDeletionVector = (column: StructField): StructField => {
  const type = column.type as StructType
  return field(column.name, struct(...type.fields, deletionVectorColumn))
}

/**
 * The checkpoint schema for a protocol: with `readerFeatures`/`writerFeatures` columns when it lists
 * features, and with each add's and remove's `deletionVector` when it lists `deletionVectors` (without
 * them a checkpoint would bring every deleted row back, and a remove would no longer match its add).
 */
export const checkpointSchemaFor = (protocol: Protocol): StructType => {
  if (protocol.readerFeatures === undefined && protocol.writerFeatures === undefined) return checkpointSchema
  const vectors = [...(protocol.readerFeatures ?? []), ...(protocol.writerFeatures ?? [])].includes("deletionVectors")
  const [txn, add, remove, metaData] = checkpointSchema.fields
  return vectors
    ? struct(txn!, withDeletionVector(add!), withDeletionVector(remove!), metaData!, protocolColumn(true))
    : struct(txn!, add!, remove!, metaData!, protocolColumn(true))
}

/** Shapes a JSON action body for hyparquet-writer: longs as bigint, absent fields as null. */
const toParquet = (value: unknown, type: DataType): unknown => {
  if (value === null || value === undefined) return null
  if (type === "long") return BigInt(value as number)
  if (typeof type === "string") return value
  switch (type.type) {
    case "struct": {
      const record = value as Record<string, unknown>
      const out: Record<string, unknown> = {}
      for (const inner of type.fields) out[inner.name] = toParquet(record[inner.name], inner.type)
      return out
    }
    case "array":
      return (value as ReadonlyArray<unknown>).map((element) => toParquet(element, type.elementType))
    case "map":
      return value
  }
}

export interface CheckpointResult {
  readonly version: number
  readonly actions: number
  readonly sizeInBytes: number
}

/**
 * Writes `N.checkpoint.parquet` for the snapshot, then `_last_checkpoint`. Both appear atomically by
 * rename; a crash in between leaves a stale hint, which readers tolerate. Tombstones older than the
 * table's retention are dropped, as the protocol allows.
 */
export const writeCheckpoint = Effect.fn("Delta.checkpoint")(function* (snapshot: Snapshot, now: number = Date.now()) {
  const dir = logDir(snapshot.tablePath)
  const minTombstone = now - deletedFileRetentionMs(snapshot.metadata)
  const rows: Array<Record<string, unknown>> = [
    { protocol: snapshot.protocol },
    { metaData: snapshot.metadata },
    ...Array.from(snapshot.appTransactions.values(), (txn) => ({ txn })),
    ...snapshot.files.map((file) => ({ add: { ...file.add, dataChange: false } })),
    ...snapshot.tombstones
      .filter((remove) => (remove.deletionTimestamp ?? 0) > minTombstone)
      .map((remove) => ({ remove: { ...remove, dataChange: false } }))
  ]
  const schema = checkpointSchemaFor(snapshot.protocol)
  const columnData = schema.fields.map((column) => ({
    name: column.name,
    data: rows.map((row) => toParquet(row[column.name], column.type))
  }))
  const writer = new ByteWriter()
  parquetWrite({
    writer,
    columnData,
    schema: parquetSchemaOf(schema.fields),
    codec: "SNAPPY",
    createdBy: "tessera store-delta"
  })
  const bytes = writer.getBytes()
  const target = Path.join(dir, checkpointFileName(snapshot.version))
  const temp = Path.join(dir, `.${checkpointFileName(snapshot.version)}.${randomUUID()}.tmp`)
  yield* writeDurable(temp, bytes)
  yield* io("rename", target, () => NodeFs.rename(temp, target)).pipe(Effect.tapError(() => removeFile(temp)))
  const hint = JSON.stringify({
    version: snapshot.version,
    size: rows.length,
    sizeInBytes: bytes.length,
    numOfAddFiles: snapshot.files.length
  })
  const hintPath = Path.join(dir, "_last_checkpoint")
  const hintTemp = Path.join(dir, `._last_checkpoint.${randomUUID()}.tmp`)
  yield* writeDurable(hintTemp, hint)
  yield* io("rename", hintPath, () => NodeFs.rename(hintTemp, hintPath)).pipe(
    Effect.tapError(() => removeFile(hintTemp))
  )
  return { version: snapshot.version, actions: rows.length, sizeInBytes: bytes.length } satisfies CheckpointResult
})
