import { Schema } from "effect"

/** The folder has no `_delta_log` with any commit or checkpoint: it is not a Delta table (yet). */
export class DeltaTableNotFound extends Schema.TaggedError<DeltaTableNotFound>()("DeltaTableNotFound", {
  path: Schema.String
}) {
  override get message(): string {
    return `No Delta table at ${this.path}: ${this.path}/_delta_log holds no commit or checkpoint`
  }
}

/** The log breaks the Delta protocol (a gap in versions, a missing protocol or metaData, an invalid action). */
export class DeltaProtocolError extends Schema.TaggedError<DeltaProtocolError>()("DeltaProtocolError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Delta table ${this.path} is invalid: ${this.reason}`
  }
}

/** The table needs a reader or writer feature this library does not implement. */
export class UnsupportedFeature extends Schema.TaggedError<UnsupportedFeature>()("UnsupportedFeature", {
  path: Schema.String,
  feature: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `Delta table ${this.path} needs the unsupported feature "${this.feature}": ${this.detail}`
  }
}

/** A commit file exists but cannot be parsed: truncated, garbage or holding invalid actions. */
export class CorruptCommit extends Schema.TaggedError<CorruptCommit>()("CorruptCommit", {
  path: Schema.String,
  version: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `Commit ${this.version} of Delta table ${this.path} is corrupt (${this.reason}); ` +
      `inspect ${this.path}/_delta_log/${String(this.version).padStart(20, "0")}.json`
    )
  }
}

/** A checkpoint named by the listing cannot be read. */
export class CorruptCheckpoint extends Schema.TaggedError<CorruptCheckpoint>()("CorruptCheckpoint", {
  path: Schema.String,
  version: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `Checkpoint ${this.version} of Delta table ${this.path} cannot be read: ${this.reason}`
  }
}

/** A deletion vector cannot be read: a bad checksum, size, magic number or cardinality, or an unknown storage type. */
export class CorruptDeletionVector extends Schema.TaggedError<CorruptDeletionVector>()("CorruptDeletionVector", {
  path: Schema.String,
  dataFile: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `The deletion vector of ${this.dataFile} in Delta table ${this.path} is corrupt: ${this.reason}`
  }
}

/** A file system call failed (permissions, disk full, a data file the log lists but that is gone). */
export class DeltaIOError extends Schema.TaggedError<DeltaIOError>()("DeltaIOError", {
  path: Schema.String,
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.operation} failed on ${this.path}: ${this.reason}`
  }
}

/** A concurrent commit changed what this commit depends on (metadata, protocol, or files it removes). */
export class ConcurrentModification extends Schema.TaggedError<ConcurrentModification>()("ConcurrentModification", {
  path: Schema.String,
  version: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `Commit to ${this.path} lost to version ${this.version}, which ${this.reason}; reload and retry`
  }
}

/** Rows handed to the writer do not match the table schema. */
export class InvalidRows extends Schema.TaggedError<InvalidRows>()("InvalidRows", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Rows for Delta table ${this.path} do not match its schema: ${this.reason}`
  }
}

/** A snapshot was asked for a version the log does not have. */
export class VersionNotFound extends Schema.TaggedError<VersionNotFound>()("VersionNotFound", {
  path: Schema.String,
  version: Schema.Number,
  latest: Schema.Number
}) {
  override get message(): string {
    return `Delta table ${this.path} has no version ${this.version}; the latest is ${this.latest}`
  }
}

export type DeltaReadError =
  | VersionNotFound
  | DeltaTableNotFound
  | DeltaProtocolError
  | UnsupportedFeature
  | CorruptCommit
  | CorruptCheckpoint
  | DeltaIOError
  | CorruptDeletionVector
