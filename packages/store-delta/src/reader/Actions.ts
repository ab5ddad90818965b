import { Either, ParseResult, Schema } from "effect"

// Checkpoints write absent struct fields as null; JSON commits omit them. Both decode to a missing key.
const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { nullable: true, exact: true })

const StringMap = Schema.Record({ key: Schema.String, value: Schema.String })

export const DeletionVectorDescriptor = Schema.Struct({
  storageType: Schema.String,
  pathOrInlineDv: Schema.String,
  offset: opt(Schema.Number),
  sizeInBytes: Schema.Number,
  cardinality: Schema.Number,
  maxRowIndex: opt(Schema.Number)
})
export type DeletionVectorDescriptor = typeof DeletionVectorDescriptor.Type

export const Protocol = Schema.Struct({
  minReaderVersion: Schema.Number,
  minWriterVersion: Schema.Number,
  readerFeatures: opt(Schema.Array(Schema.String)),
  writerFeatures: opt(Schema.Array(Schema.String))
})
export type Protocol = typeof Protocol.Type

export const Metadata = Schema.Struct({
  id: Schema.String,
  name: opt(Schema.String),
  description: opt(Schema.String),
  format: Schema.Struct({ provider: Schema.String, options: opt(StringMap) }),
  // Delta Live Tables writes a first metaData without one; a snapshot needs it only in the metaData in force.
  schemaString: opt(Schema.String),
  partitionColumns: Schema.Array(Schema.String),
  configuration: opt(StringMap),
  createdTime: opt(Schema.Number)
})
export type Metadata = typeof Metadata.Type

const PartitionValues = Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) })

export const AddFile = Schema.Struct({
  path: Schema.String,
  partitionValues: PartitionValues,
  size: Schema.Number,
  modificationTime: Schema.Number,
  dataChange: Schema.Boolean,
  stats: opt(Schema.String),
  tags: opt(Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) })),
  deletionVector: opt(DeletionVectorDescriptor),
  baseRowId: opt(Schema.Number),
  defaultRowCommitVersion: opt(Schema.Number),
  clusteringProvider: opt(Schema.String)
})
export type AddFile = typeof AddFile.Type

export const RemoveFile = Schema.Struct({
  path: Schema.String,
  deletionTimestamp: opt(Schema.Number),
  dataChange: Schema.Boolean,
  extendedFileMetadata: opt(Schema.Boolean),
  partitionValues: opt(PartitionValues),
  size: opt(Schema.Number),
  tags: opt(Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) })),
  deletionVector: opt(DeletionVectorDescriptor),
  baseRowId: opt(Schema.Number),
  defaultRowCommitVersion: opt(Schema.Number)
})
export type RemoveFile = typeof RemoveFile.Type

export const Txn = Schema.Struct({
  appId: Schema.String,
  version: Schema.Number,
  lastUpdated: opt(Schema.Number)
})
export type Txn = typeof Txn.Type

export const DomainMetadata = Schema.Struct({
  domain: Schema.String,
  configuration: Schema.String,
  removed: Schema.Boolean
})
export type DomainMetadata = typeof DomainMetadata.Type

export const Sidecar = Schema.Struct({
  path: Schema.String,
  sizeInBytes: Schema.Number,
  modificationTime: Schema.Number
})
export type Sidecar = typeof Sidecar.Type

export const CommitInfo = Schema.Record({ key: Schema.String, value: Schema.Unknown })
export type CommitInfo = typeof CommitInfo.Type

export type Action =
  | { readonly _tag: "add"; readonly add: AddFile }
  | { readonly _tag: "remove"; readonly remove: RemoveFile }
  | { readonly _tag: "metaData"; readonly metaData: Metadata }
  | { readonly _tag: "protocol"; readonly protocol: Protocol }
  | { readonly _tag: "txn"; readonly txn: Txn }
  | { readonly _tag: "commitInfo"; readonly commitInfo: CommitInfo }
  | { readonly _tag: "domainMetadata"; readonly domainMetadata: DomainMetadata }
  | { readonly _tag: "sidecar"; readonly sidecar: Sidecar }

/** The action as it is written in a commit: an object with one key naming its kind. */
export const actionToJson = (action: Action): Record<string, unknown> => {
  switch (action._tag) {
    case "add":
      return { add: action.add }
    case "remove":
      return { remove: action.remove }
    case "metaData":
      return { metaData: action.metaData }
    case "protocol":
      return { protocol: action.protocol }
    case "txn":
      return { txn: action.txn }
    case "commitInfo":
      return { commitInfo: action.commitInfo }
    case "domainMetadata":
      return { domainMetadata: action.domainMetadata }
    case "sidecar":
      return { sidecar: action.sidecar }
  }
}

const decoders = {
  add: Schema.decodeUnknownEither(AddFile),
  remove: Schema.decodeUnknownEither(RemoveFile),
  metaData: Schema.decodeUnknownEither(Metadata),
  protocol: Schema.decodeUnknownEither(Protocol),
  txn: Schema.decodeUnknownEither(Txn),
  commitInfo: Schema.decodeUnknownEither(CommitInfo),
  domainMetadata: Schema.decodeUnknownEither(DomainMetadata),
  sidecar: Schema.decodeUnknownEither(Sidecar)
} as const

/** The keys of an add as writers commonly write it; an add with any other goes through the schema. */
const plainAddKeys = new Set(["path", "partitionValues", "size", "modificationTime", "dataChange", "stats"])

/**
 * An add action of the common shape (no deletion vector, tags or row tracking), checked by hand: a
 * replay of 10,000 commits spent most of its parsing time in the schema decoder, and nearly every add
 * has this shape. It accepts exactly what `AddFile` accepts for these keys; anything else is
 * `undefined` and goes through the schema, whose errors say what is wrong.
 */
const plainAdd = (raw: unknown): AddFile | undefined => {
  if (typeof raw !== "object" || raw === null) return undefined
  const add = raw as Record<string, unknown>
  for (const key in add) if (!plainAddKeys.has(key)) return undefined
  const { path, partitionValues, size, modificationTime, dataChange, stats } = add
  if (typeof path !== "string" || typeof size !== "number" || typeof modificationTime !== "number") return undefined
  if (typeof dataChange !== "boolean" || (stats !== undefined && stats !== null && typeof stats !== "string")) {
    return undefined
  }
  if (typeof partitionValues !== "object" || partitionValues === null || Array.isArray(partitionValues))
    return undefined
  const values = partitionValues as Record<string, unknown>
  for (const key in values) if (values[key] !== null && typeof values[key] !== "string") return undefined
  return {
    path,
    partitionValues: values as AddFile["partitionValues"],
    size,
    modificationTime,
    dataChange,
    ...(typeof stats === "string" ? { stats } : {})
  }
}

type Kind = keyof typeof decoders

const isKind = (key: string): key is Kind => key in decoders

const formatError = (kind: string, error: ParseResult.ParseError) =>
  `invalid ${kind} action: ${ParseResult.TreeFormatter.formatErrorSync(error)}`

/**
 * Decodes one action object (a JSON commit line or a checkpoint row). Unknown action kinds (`cdc`,
 * `checkpointMetadata`, future ones) carry nothing a snapshot needs, so they decode to `undefined`.
 */
export const decodeAction = (raw: unknown): Either.Either<Action | undefined, string> => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return Either.left("an action must be a JSON object")
  }
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined || !isKind(key)) continue
    // commitInfo is any object (a replay never reads it); a plain add is checked without the schema.
    if (key === "commitInfo" && typeof value === "object" && !Array.isArray(value)) {
      return Either.right({ _tag: "commitInfo", commitInfo: value as CommitInfo })
    }
    const add = key === "add" ? plainAdd(value) : undefined
    if (add !== undefined) return Either.right({ _tag: "add", add })
    const decoded = decoders[key](value)
    if (Either.isLeft(decoded)) return Either.left(formatError(key, decoded.left))
    return Either.right({ _tag: key, [key]: decoded.right } as Action)
  }
  return Either.right(undefined)
}

/** Parses a newline-delimited JSON commit or V2 checkpoint. */
export const parseActionLines = (text: string): Either.Either<ReadonlyArray<Action>, string> => {
  const actions: Array<Action> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === "") continue
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch (cause) {
      return Either.left(`line ${i + 1} is not JSON (${cause instanceof Error ? cause.message : String(cause)})`)
    }
    const decoded = decodeAction(json)
    if (Either.isLeft(decoded)) return Either.left(`line ${i + 1}: ${decoded.left}`)
    if (decoded.right !== undefined) actions.push(decoded.right)
  }
  // A commit written by a crashed process without fsync can end mid-line; JSON.parse catches that, but a
  // file that is only whitespace or empty is just as broken, since every commit holds at least one action.
  if (text.trim() === "") return Either.left("the file is empty")
  return Either.right(actions)
}
