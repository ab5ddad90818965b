import { Schema } from "effect"

export class UnknownBuild extends Schema.TaggedError<UnknownBuild>()("UnknownBuild", {
  buildRequestId: Schema.String
}) {
  override get message(): string {
    return `no build request ${this.buildRequestId} in the log; \`tessera status\` lists what exists`
  }
}

export class BuildFinished extends Schema.TaggedError<BuildFinished>()("BuildFinished", {
  buildRequestId: Schema.String,
  status: Schema.String
}) {
  override get message(): string {
    return `build ${this.buildRequestId} already finished as ${this.status}; request the partitions again to build them`
  }
}

export class UnknownPartition extends Schema.TaggedError<UnknownPartition>()("UnknownPartition", {
  ref: Schema.String
}) {
  override get message(): string {
    return `partition ${this.ref} is not in the catalog: nothing was ever built or registered under that ref`
  }
}

export class WorkersUnavailable extends Schema.TaggedError<WorkersUnavailable>()("WorkersUnavailable", {
  store: Schema.String
}) {
  override get message(): string {
    return `the workers executor needs a store with a job queue, and the ${this.store} store has none; use PostgreSQL, or the local executor`
  }
}
