import { Effect, Either, Option } from "effect"
import { randomUUID } from "node:crypto"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import {
  ConcurrentModification,
  type DeltaIOError,
  DeltaProtocolError,
  InvalidRows,
  UnsupportedFeature
} from "../Errors.js"
import { createDurable, io, makeDir, type NewFile, removeFile } from "../Fs.js"
import type { Action, AddFile, DeletionVectorDescriptor, Metadata, RemoveFile } from "../reader/Actions.js"
import { vectorFile } from "../reader/DeletionVectors.js"
import { missingWriterFeature, protocolForSchema, unwritableType } from "../reader/Features.js"
import { logDir } from "../reader/Listing.js"
import { decodeLogPath } from "../reader/Replay.js"
import { readFileRows } from "../reader/Scan.js"
import type { DataType, StructType } from "../reader/Schema.js"
import { loadSnapshot, type Snapshot } from "../reader/Snapshot.js"
import { writeCheckpoint } from "./Checkpoint.js"
import { type Columns, columnsOf, type Selection, type WriteInput } from "./Columns.js"
import { physicalTable } from "./ColumnMapping.js"
import { commitLoop, rejectMetadataChange } from "./Commit.js"
import { checkpointInterval, deletedFileRetentionMs } from "./Config.js"
import {
  dataSchemaOf,
  dataFileName,
  encodeDataFile,
  logPathOf,
  partitionDirectory,
  serializePartitionValue
} from "./DataFile.js"

export interface CreateTableOptions {
  readonly schema: StructType
  /** Schemas an existing table may have instead: what earlier versions of the caller created. */
  readonly earlierSchemas?: ReadonlyArray<StructType>
  readonly partitionColumns?: ReadonlyArray<string>
  readonly configuration?: Readonly<Record<string, string>>
  readonly name?: string
  readonly description?: string
}

const sameDefinition = (metadata: Metadata, options: CreateTableOptions) =>
  [options.schema, ...(options.earlierSchemas ?? [])].some(
    (schema) => metadata.schemaString === JSON.stringify(schema)
  ) && JSON.stringify(metadata.partitionColumns) === JSON.stringify(options.partitionColumns ?? [])

/**
 * Opens the table at `tablePath`, or creates it (as `createTable`) when the folder holds no table
 * yet. Opening an existing table only reads: a table whose log is damaged (a commit 0 gone, a gap)
 * is an error naming the version, never a reason to write a new version 0 over it, and a table the
 * process may read but not write opens all the same.
 */
export const openOrCreateTable = Effect.fn("Delta.openOrCreateTable")(function* (
  tablePath: string,
  options: CreateTableOptions
) {
  const existing = yield* loadSnapshot(tablePath).pipe(
    Effect.map(Option.some),
    Effect.catchTag("DeltaTableNotFound", () => Effect.succeed(Option.none()))
  )
  if (Option.isNone(existing)) return yield* createTable(tablePath, options)
  if (!sameDefinition(existing.value.metadata, options)) {
    return yield* new DeltaProtocolError({
      path: tablePath,
      reason: "a table with a different schema or partitioning already exists there"
    })
  }
  return existing.value
})

/**
 * Creates a table (version 0: protocol 1/2 and metaData) or, when one already exists with the same
 * schema and partitioning, returns it: several processes may start on an empty folder at once.
 */
export const createTable = Effect.fn("Delta.createTable")(function* (tablePath: string, options: CreateTableOptions) {
  const partitionColumns = options.partitionColumns ?? []
  for (const column of partitionColumns) {
    if (!options.schema.fields.some((field) => field.name === column && typeof field.type === "string")) {
      return yield* new DeltaProtocolError({
        path: tablePath,
        reason: `partition column "${column}" must be a primitive column of the schema`
      })
    }
  }
  const unwritable = unwritableType(options.schema)
  if (Option.isSome(unwritable)) {
    return yield* new DeltaProtocolError({
      path: tablePath,
      reason: `type "${unwritable.value}" in the schema is not one this writer writes (Delta primitives, decimals to 38 digits)`
    })
  }
  yield* makeDir(logDir(tablePath))
  const metadata: Metadata = {
    id: randomUUID(),
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
    format: { provider: "parquet", options: {} },
    schemaString: JSON.stringify(options.schema),
    partitionColumns,
    configuration: options.configuration ?? {},
    createdTime: Date.now()
  }
  yield* commitLoop(tablePath, {
    readVersion: -1,
    prepare: (version) =>
      Effect.succeed(
        version === 0
          ? Option.some({
              actions: [
                { _tag: "protocol", protocol: protocolForSchema(options.schema) },
                { _tag: "metaData", metaData: metadata }
              ] satisfies ReadonlyArray<Action>,
              result: undefined
            })
          : Option.none()
      ),
    onLost: () => Effect.void,
    commitInfo: () => ({
      operation: "CREATE TABLE",
      operationParameters: { partitionBy: JSON.stringify(partitionColumns) }
    })
  })
  const snapshot = yield* loadSnapshot(tablePath)
  if (!sameDefinition(snapshot.metadata, options)) {
    return yield* new DeltaProtocolError({
      path: tablePath,
      reason: "a table with a different schema or partitioning already exists there"
    })
  }
  return snapshot
})

const checkWritable = (snapshot: Snapshot) => {
  const missing = missingWriterFeature(snapshot.protocol, snapshot.metadata, snapshot.schema)
  if (Option.isSome(missing)) return Effect.fail(new UnsupportedFeature({ path: snapshot.tablePath, ...missing.value }))
  const invariant = snapshot.schema.fields.find((field) => "delta.invariants" in field.metadata)
  if (invariant !== undefined) {
    return Effect.fail(
      new UnsupportedFeature({
        path: snapshot.tablePath,
        feature: "invariants",
        detail: `column "${invariant.name}" has a delta.invariants expression, which this writer does not evaluate`
      })
    )
  }
  return Effect.void
}

export interface WrittenFile {
  readonly add: AddFile
  readonly absolutePath: string
}

/** Row indices per partition (none when the table is not partitioned: one file holds every row). */
const partitionGroups = (
  columns: Columns,
  partitionColumns: ReadonlyArray<string>,
  types: ReadonlyMap<string, DataType>
): Array<{ readonly values: Record<string, string | null>; readonly selection: Selection }> => {
  if (partitionColumns.length === 0) return [{ values: {}, selection: { length: columns.length, indices: undefined } }]
  const sources = partitionColumns.map((column) => columns.column(column))
  const groups = new Map<string | null, { values: Record<string, string | null>; indices: Array<number> }>()
  const serialized = new Array<string | null>(partitionColumns.length)
  for (let i = 0; i < columns.length; i++) {
    for (let c = 0; c < partitionColumns.length; c++) {
      serialized[c] = serializePartitionValue(sources[c]?.[i], types.get(partitionColumns[c]!)!)
    }
    // One partition column (the common case) keys by its value; null cannot collide with a string.
    const key = serialized.length === 1 ? (serialized[0] ?? null) : JSON.stringify(serialized)
    const group = groups.get(key)
    if (group !== undefined) group.indices.push(i)
    else {
      const values: Record<string, string | null> = {}
      for (let c = 0; c < partitionColumns.length; c++) values[partitionColumns[c]!] = serialized[c]!
      groups.set(key, { values, indices: [i] })
    }
  }
  return [...groups.values()].map(({ values, indices }) => ({
    values,
    selection: { length: indices.length, indices }
  }))
}

/** A data file encoded and named, not yet on disk. */
export interface EncodedDataFile extends WrittenFile {
  readonly bytes: Uint8Array
}

export interface DataFileOptions {
  readonly dataChange?: boolean
  readonly statsColumns?: ReadonlyArray<string>
}

/** Encodes rows (objects or whole columns) as data files, one per partition, with their add actions. */
export const encodeDataFiles = Effect.fn("Delta.encodeDataFiles")(function* (
  snapshot: Pick<Snapshot, "tablePath" | "schema" | "partitionColumns"> & Partial<Pick<Snapshot, "columnMapping">>,
  input: WriteInput,
  options: DataFileOptions = {}
) {
  const { tablePath } = snapshot
  const logicalColumns = columnsOf(input)
  if (Either.isLeft(logicalColumns)) return yield* new InvalidRows({ path: tablePath, reason: logicalColumns.left })
  // From here on every name is the physical one (the logical one when the table has no column mapping).
  const { schema, partitionColumns, columns, physical } = physicalTable(
    snapshot.schema,
    snapshot.partitionColumns,
    logicalColumns.right,
    snapshot.columnMapping ?? "none"
  )
  const types = new Map(schema.fields.map((field) => [field.name, field.type]))
  const dataSchema = dataSchemaOf(schema, partitionColumns)
  // Delta's default: stats on the first 32 columns.
  const statsColumns = new Set(
    options.statsColumns?.map(physical) ?? dataSchema.fields.slice(0, 32).map((field) => field.name)
  )
  const files: Array<EncodedDataFile> = []
  for (const group of partitionGroups(columns, partitionColumns, types)) {
    const encoded = encodeDataFile(dataSchema, columns, group.selection, statsColumns)
    if (Either.isLeft(encoded)) return yield* new InvalidRows({ path: tablePath, reason: encoded.left })
    const directory = partitionDirectory(partitionColumns, group.values)
    const relative = directory === "" ? dataFileName() : `${directory}/${dataFileName()}`
    files.push({
      absolutePath: Path.join(tablePath, relative),
      bytes: encoded.right.bytes,
      add: {
        path: logPathOf(relative),
        partitionValues: group.values,
        size: encoded.right.bytes.length,
        modificationTime: Date.now(),
        dataChange: options.dataChange ?? true,
        stats: encoded.right.stats
      }
    })
  }
  return files
})

/**
 * Puts encoded files on disk durably, all at once: each file's bytes, its entry in its folder, and a
 * partition folder's own entry when this write created it, so no commit can name a file a power loss
 * would take back.
 */
export const writeEncodedFiles = (files: ReadonlyArray<EncodedDataFile>) => createDurable(newFiles(files))

/** Encoded files as files to create, named by the commit that adds them. */
export const newFiles = (files: ReadonlyArray<EncodedDataFile>): ReadonlyArray<NewFile> =>
  files.map((file) => ({ path: file.absolutePath, data: file.bytes, named: true }))

/** Writes rows as data files, one per partition, and returns their add actions (not yet committed). */
export const writeDataFiles = Effect.fn("Delta.writeDataFiles")(function* (
  snapshot: Pick<Snapshot, "tablePath" | "schema" | "partitionColumns">,
  input: WriteInput,
  options: DataFileOptions = {}
) {
  const files = yield* encodeDataFiles(snapshot, input, options)
  yield* writeEncodedFiles(files)
  return files.map(({ absolutePath, add }): WrittenFile => ({ absolutePath, add }))
})

export interface AppendOptions {
  /** Idempotent writes: the append is skipped when the table already holds `version` (or newer) for `appId`. */
  readonly txn?: { readonly appId: string; readonly version: number }
  /** Columns that get min/max/nullCount stats; defaults to the first 32 data columns. */
  readonly statsColumns?: ReadonlyArray<string>
  /** Write a checkpoint when the committed version is a multiple of this (unless `delta.checkpointInterval` is set). */
  readonly checkpointInterval?: number
  /** The snapshot to append on; loaded when absent. */
  readonly snapshot?: Snapshot
}

export interface AppendResult {
  /** The committed version; `None` when a txn showed the rows were already written. */
  readonly version: Option.Option<number>
  readonly files: ReadonlyArray<AddFile>
}

const txnApplied = (snapshot: Snapshot, txn: AppendOptions["txn"]) =>
  txn !== undefined && (snapshot.appTransactions.get(txn.appId)?.version ?? -1) >= txn.version

/** Checkpoints after a commit when the interval says so. A failed checkpoint is logged: the commit stands. */
export const maybeCheckpoint = (tablePath: string, version: number, metadata: Metadata, fallbackInterval: number) =>
  version > 0 && version % checkpointInterval(metadata, fallbackInterval) === 0
    ? checkpointAt(tablePath, version)
    : Effect.void

/** Writes the checkpoint of `version`. A failure is logged: the commits it would summarize stand. */
export const checkpointAt = (tablePath: string, version: number) =>
  loadSnapshot(tablePath, { version }).pipe(
    Effect.flatMap((snapshot) => writeCheckpoint(snapshot)),
    Effect.asVoid,
    Effect.catchAll((error) => Effect.logWarning(`Checkpoint ${version} of ${tablePath} failed: ${error.message}`))
  )

/**
 * Appends rows (objects, or a `{ columns }` batch): one data file per partition, then one commit with
 * their add actions, a commitInfo and the optional txn. Concurrent appends retry at the next version; they conflict only with a schema or
 * protocol change, or with a winner that already recorded the same txn.
 */
export const append = Effect.fn("Delta.append")(function* (
  tablePath: string,
  rows: WriteInput,
  options: AppendOptions = {}
) {
  const snapshot = options.snapshot ?? (yield* loadSnapshot(tablePath))
  yield* checkWritable(snapshot)
  if (txnApplied(snapshot, options.txn)) return { version: Option.none(), files: [] } satisfies AppendResult
  const written = yield* encodeDataFiles(
    snapshot,
    rows,
    options.statsColumns !== undefined ? { statsColumns: options.statsColumns } : {}
  )
  let alreadyApplied = false
  const committed = yield* commitLoop(tablePath, {
    readVersion: snapshot.version,
    prepare: () =>
      Effect.succeed(
        alreadyApplied
          ? Option.none()
          : Option.some({
              actions: [
                ...written.map((file): Action => ({ _tag: "add", add: file.add })),
                ...(options.txn !== undefined
                  ? [{ _tag: "txn", txn: { ...options.txn, lastUpdated: Date.now() } } satisfies Action]
                  : [])
              ],
              result: undefined
            })
      ),
    onLost: (version, winner) =>
      rejectMetadataChange(tablePath, version, winner).pipe(
        Effect.tap(() => {
          const txn = options.txn
          alreadyApplied ||=
            txn !== undefined &&
            winner.some(
              (action) => action._tag === "txn" && action.txn.appId === txn.appId && action.txn.version >= txn.version
            )
        })
      ),
    commitInfo: () => ({
      operation: "WRITE",
      operationParameters: { mode: "Append" },
      isBlindAppend: true,
      engineInfo: "tessera-store-delta"
    }),
    files: newFiles(written)
  }).pipe(Effect.tapError(() => Effect.forEach(written, (file) => removeFile(file.absolutePath), { discard: true })))
  if (Option.isNone(committed)) {
    yield* Effect.forEach(written, (file) => removeFile(file.absolutePath), { discard: true })
    return { version: Option.none(), files: [] } satisfies AppendResult
  }
  yield* maybeCheckpoint(tablePath, committed.value.version, snapshot.metadata, options.checkpointInterval ?? 100)
  return {
    version: Option.some(committed.value.version),
    files: written.map((file) => file.add)
  } satisfies AppendResult
})

export interface CompactOptions {
  /** Files at or above this size are left alone. Default 32 MiB. */
  readonly targetFileSize?: number
  /** A partition is compacted only when it has at least this many small files. Default 10. */
  readonly minFiles?: number
  /** Rows of the new file are sorted by this column (e.g. `seq`), so files keep a tight range. */
  readonly sortBy?: string
  readonly statsColumns?: ReadonlyArray<string>
}

const sortValue = (value: unknown): number | bigint | string =>
  value instanceof Date
    ? value.getTime()
    : typeof value === "number" || typeof value === "bigint"
      ? value
      : String(value)

/**
 * Rewrites the small files of each partition into one, committed with `dataChange: false` so streaming
 * readers skip it. Loses to any concurrent commit that removed one of the files it rewrites.
 */
export const compact = Effect.fn("Delta.compact")(function* (tablePath: string, options: CompactOptions = {}) {
  const snapshot = yield* loadSnapshot(tablePath)
  yield* checkWritable(snapshot)
  const target = options.targetFileSize ?? 32 * 1024 * 1024
  const minFiles = options.minFiles ?? 10
  const byPartition = new Map<string, Array<(typeof snapshot.files)[number]>>()
  for (const file of snapshot.files) {
    if (file.add.size >= target || file.add.deletionVector !== undefined) continue
    const key = JSON.stringify(file.add.partitionValues)
    byPartition.set(key, [...(byPartition.get(key) ?? []), file])
  }
  const groups = [...byPartition.values()].filter((files) => files.length >= minFiles)
  if (groups.length === 0) return { version: Option.none<number>(), removed: 0, added: 0 }
  const removes: Array<RemoveFile> = []
  const written: Array<WrittenFile> = []
  for (const files of groups) {
    const rows = (yield* Effect.forEach(files, (file) => readFileRows(snapshot, file), { concurrency: 4 })).flat()
    const { sortBy } = options
    if (sortBy !== undefined) {
      rows.sort((a, b) => {
        const x = sortValue(a[sortBy])
        const y = sortValue(b[sortBy])
        return x < y ? -1 : x > y ? 1 : 0
      })
    }
    written.push(
      ...(yield* writeDataFiles(snapshot, rows, {
        dataChange: false,
        ...(options.statsColumns !== undefined ? { statsColumns: options.statsColumns } : {})
      }))
    )
    const now = Date.now()
    for (const file of files) {
      removes.push({
        path: file.add.path,
        deletionTimestamp: now,
        dataChange: false,
        extendedFileMetadata: true,
        partitionValues: file.add.partitionValues,
        size: file.add.size
      })
    }
  }
  const removedKeys = new Set(removes.map((remove) => decodeLogPath(remove.path)))
  const committed = yield* commitLoop(tablePath, {
    readVersion: snapshot.version,
    prepare: () =>
      Effect.succeed(
        Option.some({
          actions: [
            ...removes.map((remove): Action => ({ _tag: "remove", remove })),
            ...written.map((file): Action => ({ _tag: "add", add: file.add }))
          ],
          result: undefined
        })
      ),
    onLost: (version, winner) =>
      rejectMetadataChange(tablePath, version, winner).pipe(
        Effect.zipRight(
          winner.some((action) => action._tag === "remove" && removedKeys.has(decodeLogPath(action.remove.path)))
            ? Effect.fail(
                new ConcurrentModification({
                  path: tablePath,
                  version,
                  reason: "removed a file this compaction rewrites"
                })
              )
            : Effect.void
        )
      ),
    commitInfo: () => ({
      operation: "OPTIMIZE",
      operationParameters: {},
      isBlindAppend: false,
      engineInfo: "tessera-store-delta"
    })
  }).pipe(Effect.tapError(() => Effect.forEach(written, (file) => removeFile(file.absolutePath), { discard: true })))
  return {
    version: Option.map(committed, (outcome) => outcome.version),
    removed: removes.length,
    added: written.length
  }
})

export interface VacuumOptions {
  /** Files unreferenced for longer than this are deleted. Default: the table's deletedFileRetentionDuration. */
  readonly retentionMs?: number
  readonly now?: number
  readonly dryRun?: boolean
}

const walk = (root: string, relative: string): Effect.Effect<ReadonlyArray<string>, DeltaIOError> =>
  io("list", Path.join(root, relative), () => NodeFs.readdir(Path.join(root, relative), { withFileTypes: true })).pipe(
    Effect.flatMap((entries) =>
      Effect.forEach(entries, (entry) => {
        const child = relative === "" ? entry.name : `${relative}/${entry.name}`
        // Hidden and underscore-prefixed names (_delta_log, .crc files' folders) are not data files.
        if (entry.name.startsWith("_") || entry.name.startsWith(".")) return Effect.succeed([])
        return entry.isDirectory() ? walk(root, child) : Effect.succeed([child])
      })
    ),
    Effect.map((lists) => lists.flat())
  )

/**
 * Deletes data files the latest snapshot does not reference once they are older than the retention
 * period (by tombstone time for removed files, by modification time for orphans of crashed writers),
 * and abandoned commit temp files in `_delta_log`.
 */
export const vacuum = Effect.fn("Delta.vacuum")(function* (tablePath: string, options: VacuumOptions = {}) {
  const snapshot = yield* loadSnapshot(tablePath)
  const now = options.now ?? Date.now()
  const cutoff = now - (options.retentionMs ?? deletedFileRetentionMs(snapshot.metadata))
  // A deletion vector's file is kept while an active file uses it; one only a tombstone names ages
  // with the tombstone, as the data file does.
  const vectorOf = (dv: DeletionVectorDescriptor | undefined) => {
    const file = dv === undefined ? undefined : vectorFile(tablePath, dv)
    return file === undefined ? [] : [Path.relative(tablePath, file)]
  }
  const active = new Set(snapshot.files.flatMap((file) => [file.path, ...vectorOf(file.add.deletionVector)]))
  const removedAt = new Map(
    snapshot.tombstones.flatMap((remove) =>
      [decodeLogPath(remove.path), ...vectorOf(remove.deletionVector)].map(
        (path) => [path, remove.deletionTimestamp ?? 0] as const
      )
    )
  )
  const dataFiles = yield* walk(tablePath, "")
  const logNames = yield* io("list", logDir(tablePath), () => NodeFs.readdir(logDir(tablePath)))
  const candidates = [
    ...dataFiles.filter((file) => !active.has(file)),
    ...logNames.filter((name) => name.startsWith(".") && name.endsWith(".tmp")).map((name) => `_delta_log/${name}`)
  ]
  const deleted: Array<string> = []
  for (const file of candidates) {
    const absolute = Path.join(tablePath, file)
    const tombstone = removedAt.get(file)
    const stat = yield* io("stat", absolute, () => NodeFs.stat(absolute))
    const age = tombstone !== undefined ? Math.max(tombstone, stat.mtimeMs) : stat.mtimeMs
    if (age >= cutoff) continue
    if (options.dryRun !== true) yield* removeFile(absolute)
    deleted.push(file)
  }
  return { deleted }
})
