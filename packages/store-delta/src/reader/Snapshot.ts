import { Effect, Either, Option } from "effect"
import { existsSync, readFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import {
  CorruptCommit,
  DeltaIOError,
  DeltaProtocolError,
  type DeltaReadError,
  UnsupportedFeature,
  VersionNotFound
} from "../Errors.js"
import { errorCode } from "../Fs.js"
import type { Action, AddFile, DomainMetadata, Metadata, Protocol, RemoveFile, Txn } from "./Actions.js"
import { parseActionLines } from "./Actions.js"
import { readCheckpoint } from "./Checkpoint.js"
import { type ColumnMappingMode, columnMappingProperty, isColumnMappingMode, physicalName } from "./ColumnMapping.js"
import { missingReaderFeature, missingSchemaFeature } from "./Features.js"
import { type CheckpointFiles, commitFileName, type LastCheckpointHint, listLog, logDir } from "./Listing.js"
import { decodeLogPath, ReplayState } from "./Replay.js"
import { parsePartitionValue, parseSchemaString, type StructType, type Value } from "./Schema.js"
import { type FileStats, parseStats } from "./Stats.js"

/** A data file of the snapshot, with its log path decoded and its partition values and stats typed. */
export interface ActiveFile {
  /** The path relative to the table root (or an absolute URI), URI-decoded once. */
  readonly path: string
  /** Where the file is on this machine. */
  readonly absolutePath: string
  readonly add: AddFile
  readonly partitionValues: { readonly [column: string]: Value }
  readonly stats: Option.Option<FileStats>
}

/** A table as of one version. */
export interface Snapshot {
  readonly tablePath: string
  readonly version: number
  readonly protocol: Protocol
  readonly metadata: Metadata
  readonly schema: StructType
  /** How data files name the schema's columns: by logical name, physical name or Parquet field id. */
  readonly columnMapping: ColumnMappingMode
  readonly partitionColumns: ReadonlyArray<string>
  readonly files: ReadonlyArray<ActiveFile>
  readonly tombstones: ReadonlyArray<RemoveFile>
  /** The latest `txn` version per application id. */
  readonly appTransactions: ReadonlyMap<string, Txn>
  readonly domainMetadata: ReadonlyMap<string, DomainMetadata>
  /** The checkpoint the replay started from, if any. */
  readonly checkpointVersion: Option.Option<number>
  /** What `_last_checkpoint` said; informational, the listing decides. */
  readonly lastCheckpointHint: Option.Option<LastCheckpointHint>
  /** Reconciled state the writer and the event log continue from. */
  readonly state: ReplayState
}

export interface SnapshotOptions {
  /** Time travel: the snapshot as of this version. Defaults to the latest. */
  readonly version?: number
  /**
   * Whether data files outside the table's folder (absolute URIs, `../` paths) may be read, for
   * tables that really reference files elsewhere (shallow clones). Default false: such a path in a
   * log is refused, so a crafted table cannot make a reader open `/etc/passwd`.
   */
  readonly allowExternalFiles?: boolean
}

/** Whether a data file's location lies inside the table's folder. */
const insideTable = (tablePath: string, absolutePath: string): boolean => {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(absolutePath)) return false
  const root = Path.resolve(tablePath)
  const resolved = Path.resolve(absolutePath)
  return resolved.startsWith(root + Path.sep)
}

const absolutePathOf = (tablePath: string, path: string): string => {
  if (path.startsWith("file:")) return fileURLToPath(path)
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(path)) return path
  // An absolute-path reference resolves against the table's URI to that path, as URIs do.
  if (path.startsWith("/")) return path
  return Path.join(tablePath, path)
}

/** Reads and parses one JSON commit. */
export const readCommit = (
  tablePath: string,
  version: number
): Effect.Effect<Option.Option<ReadonlyArray<Action>>, CorruptCommit | DeltaIOError> =>
  // Read synchronously, as replays read commits (see `readCommitTexts`): the event log asks for the
  // next commit before every append and read, and it is usually absent or a small local file. Absent
  // is asked first, without the read: a failed read's error (its message and stack) cost more than
  // the rest of the lookup. A commit written between the two calls is found by the next lookup, as
  // one written just after the read would be.
  Effect.suspend(() =>
    existsSync(Path.join(logDir(tablePath), commitFileName(version)))
      ? readCommitTexts(tablePath, [version])
      : Effect.succeed([undefined])
  ).pipe(
    Effect.flatMap(([text]) =>
      text === undefined
        ? Effect.succeedNone
        : Either.match(parseActionLines(text), {
            onLeft: (reason) => Effect.fail(new CorruptCommit({ path: tablePath, version, reason })),
            onRight: (actions) => Effect.succeedSome(actions)
          })
    )
  )

const parsedCommit = (tablePath: string, version: number, text: string | undefined) => {
  if (text === undefined) {
    return Either.left(
      new DeltaProtocolError({
        path: tablePath,
        reason: `versions are not contiguous: commit ${version} disappeared while it was being read`
      })
    )
  }
  return Either.mapLeft(parseActionLines(text), (reason) => new CorruptCommit({ path: tablePath, version, reason }))
}

/**
 * Reads commit files in one synchronous pass. A commit is a small local file: a blocking read is a few
 * microseconds, while each asynchronous `readFile` is four trips through libuv's four-thread pool (open,
 * fstat, read, close), which made a 10,000-commit replay spend most of its time waiting on the pool.
 */
const readCommitTexts = (tablePath: string, versions: ReadonlyArray<number>) =>
  Effect.try({
    try: () =>
      versions.map((version) => {
        try {
          return readFileSync(Path.join(logDir(tablePath), commitFileName(version)), "utf8")
        } catch (cause) {
          if (errorCode(cause) === "ENOENT") return undefined
          throw cause
        }
      }),
    catch: (cause) =>
      new DeltaIOError({
        path: logDir(tablePath),
        operation: "read commits",
        reason: cause instanceof Error ? cause.message : String(cause)
      })
  })

const COMMITS_PER_READ = 256

/** Applies the JSON commits `from..to` in order, read in batches so other fibers run between them. */
export const replayCommits = (tablePath: string, state: ReplayState, from: number, to: number) =>
  Effect.gen(function* () {
    for (let start = from; start <= to; start += COMMITS_PER_READ) {
      const versions = Array.from({ length: Math.min(COMMITS_PER_READ, to - start + 1) }, (_, i) => start + i)
      const texts = yield* readCommitTexts(tablePath, versions)
      for (let i = 0; i < versions.length; i++) {
        const actions = yield* parsedCommit(tablePath, versions[i]!, texts[i])
        for (const action of actions) state.apply(action)
      }
      yield* Effect.yieldNow()
    }
    return state
  })

const missingCommit = (commits: ReadonlyMap<number, string>, from: number, to: number): Option.Option<number> => {
  for (let version = from; version <= to; version++) if (!commits.has(version)) return Option.some(version)
  return Option.none()
}

/** Builds the immutable snapshot view from a reconciled state, checking protocol and features. */
export const snapshotFromState = (
  tablePath: string,
  version: number,
  state: ReplayState,
  extra: {
    readonly checkpointVersion: Option.Option<number>
    readonly hint: Option.Option<LastCheckpointHint>
    readonly allowExternalFiles?: boolean | undefined
  }
): Effect.Effect<Snapshot, DeltaProtocolError | UnsupportedFeature> =>
  Effect.gen(function* () {
    const { protocol, metadata } = state
    if (protocol === undefined) {
      return yield* new DeltaProtocolError({ path: tablePath, reason: `no protocol action up to version ${version}` })
    }
    if (metadata === undefined) {
      return yield* new DeltaProtocolError({ path: tablePath, reason: `no metaData action up to version ${version}` })
    }
    const missing = missingReaderFeature(protocol)
    if (Option.isSome(missing)) return yield* new UnsupportedFeature({ path: tablePath, ...missing.value })
    if (metadata.schemaString === undefined) {
      return yield* new DeltaProtocolError({
        path: tablePath,
        reason: `the metaData in force at version ${version} has no schemaString`
      })
    }
    const schema = parseSchemaString(metadata.schemaString)
    if (Either.isLeft(schema)) return yield* new DeltaProtocolError({ path: tablePath, reason: schema.left })
    const unreadable = missingSchemaFeature(schema.right)
    if (Option.isSome(unreadable)) return yield* new UnsupportedFeature({ path: tablePath, ...unreadable.value })
    const mode = columnMappingProperty(protocol, metadata)
    if (!isColumnMappingMode(mode)) {
      return yield* new UnsupportedFeature({
        path: tablePath,
        feature: "columnMapping",
        detail: `column mapping mode "${mode}" is not one of none, name, id`
      })
    }
    const fields = new Map(schema.right.fields.map((field) => [field.name, field]))
    if (extra.allowExternalFiles !== true) {
      for (const add of state.files.values()) {
        const path = decodeLogPath(add.path)
        if (!insideTable(tablePath, absolutePathOf(tablePath, path))) {
          return yield* new DeltaProtocolError({
            path: tablePath,
            reason:
              `the log as of version ${version} names data file ${JSON.stringify(path)}, outside the table's folder; ` +
              "refused (open the snapshot with allowExternalFiles: true for tables that reference files elsewhere)"
          })
        }
      }
    }
    const files = Array.from(state.files.values(), (add): ActiveFile => {
      const path = decodeLogPath(add.path)
      const partitionValues: Record<string, Value> = {}
      for (const column of metadata.partitionColumns) {
        const field = fields.get(column)
        const raw = add.partitionValues[field === undefined ? column : physicalName(field, mode)]
        partitionValues[column] = parsePartitionValue(raw, field?.type ?? "string")
      }
      return {
        path,
        absolutePath: absolutePathOf(tablePath, path),
        add,
        partitionValues,
        stats: parseStats(add.stats)
      }
    })
    return {
      tablePath,
      version,
      protocol,
      metadata,
      schema: schema.right,
      columnMapping: mode,
      partitionColumns: metadata.partitionColumns,
      files,
      tombstones: Array.from(state.tombstones.values()),
      appTransactions: state.txns,
      domainMetadata: state.domains,
      checkpointVersion: extra.checkpointVersion,
      lastCheckpointHint: extra.hint,
      state
    }
  })

const replayFrom = (
  tablePath: string,
  commits: ReadonlyMap<number, string>,
  checkpoint: CheckpointFiles | undefined,
  target: number
) =>
  Effect.gen(function* () {
    const start = checkpoint === undefined ? 0 : checkpoint.version + 1
    const gap = missingCommit(commits, start, target)
    if (Option.isSome(gap)) {
      const listed = Array.from(commits.keys()).filter((v) => v <= target)
      const reason =
        checkpoint === undefined && gap.value === 0
          ? `commit 0 is missing and no checkpoint at or before version ${target} exists`
          : `versions are not contiguous: commit ${gap.value} is missing ` +
            `(found ${listed.length} commits up to ${target}${checkpoint ? `, checkpoint ${checkpoint.version}` : ""})`
      return yield* new DeltaProtocolError({ path: tablePath, reason })
    }
    const state = new ReplayState()
    if (checkpoint !== undefined) {
      for (const action of yield* readCheckpoint(tablePath, checkpoint)) state.apply(action)
    }
    return yield* replayCommits(tablePath, state, start, target)
  })

/**
 * Loads a snapshot: the newest complete checkpoint at or before the target version, then the JSON
 * commits after it. A checkpoint that cannot be read falls back to the next older one, then to a
 * replay from version 0, since every checkpoint is only a cache of the commits.
 */
export const loadSnapshot: (tablePath: string, options?: SnapshotOptions) => Effect.Effect<Snapshot, DeltaReadError> =
  Effect.fn("Delta.snapshot")(function* (tablePath: string, options: SnapshotOptions = {}) {
    const listing = yield* listLog(tablePath)
    const versions = [...listing.commits.keys(), ...listing.checkpoints.map((c) => c.version)]
    const latest = Math.max(...versions)
    const target = options.version ?? latest
    if (target > latest || target < 0) {
      return yield* new VersionNotFound({ path: tablePath, version: target, latest })
    }
    const candidates = listing.checkpoints.filter((c) => c.version <= target)
    const attempt = (
      index: number
    ): Effect.Effect<{ state: ReplayState; checkpoint: Option.Option<number> }, DeltaReadError> => {
      const checkpoint = candidates[index]
      return replayFrom(tablePath, listing.commits, checkpoint, target).pipe(
        Effect.map((state) => ({ state, checkpoint: Option.map(Option.fromNullable(checkpoint), (c) => c.version) })),
        Effect.catchIf(
          (error) => checkpoint !== undefined && (error._tag === "CorruptCheckpoint" || error._tag === "DeltaIOError"),
          (error) =>
            Effect.logWarning(
              `Skipping unreadable checkpoint ${checkpoint?.version} of ${tablePath}: ${error.message}`
            ).pipe(Effect.zipRight(attempt(index + 1)))
        )
      )
    }
    const { state, checkpoint } = yield* attempt(0)
    return yield* snapshotFromState(tablePath, target, state, {
      checkpointVersion: checkpoint,
      hint: listing.hint,
      allowExternalFiles: options.allowExternalFiles
    })
  })
