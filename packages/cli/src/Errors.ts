/**
 * The CLI's own errors. Each message says what to do next; `ExitCode` decides how the process ends.
 */
import { Schema } from "effect"

/**
 * What a command fails with. Every error Tessera raises is tagged and carries a message a user can act
 * on, which is all the exit code and the error output need.
 */
export interface CommandError {
  readonly _tag: string
  readonly message: string
}

/** No graph module was named by `--graph`, `TESSERA_GRAPH` or `tessera.config.ts`. */
export class NoGraph extends Schema.TaggedError<NoGraph>()("NoGraph", {
  command: Schema.String
}) {
  override get message(): string {
    return (
      `\`tessera ${this.command}\` needs a graph: pass --graph <module> (a .ts or .js file whose default export ` +
      'is a Graph), set TESSERA_GRAPH, or add `export default { graph: "./graph.ts" }` to tessera.config.ts'
    )
  }
}

/** A module (graph or config file) could not be found or failed while loading. */
export class ModuleLoadFailed extends Schema.TaggedError<ModuleLoadFailed>()("ModuleLoadFailed", {
  path: Schema.String,
  what: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot load the ${this.what} ${this.path}: ${this.reason}`
  }
}

/** The graph module loaded, but its default export is not a Graph. */
export class NotAGraph extends Schema.TaggedError<NotAGraph>()("NotAGraph", {
  path: Schema.String,
  found: Schema.String
}) {
  override get message(): string {
    return (
      `the default export of ${this.path} is ${this.found}, not a Graph: ` +
      "end the module with `export default Graph.make([job1, job2])` (Graph from @tessera/core)"
    )
  }
}

/** `tessera.config.ts` has a shape the CLI does not understand. */
export class InvalidConfigFile extends Schema.TaggedError<InvalidConfigFile>()("InvalidConfigFile", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `${this.path}: ${this.reason}. Its default export must be ` +
      '`{ graph?: "./graph.ts" | Graph, store?: "sqlite:.tessera/events.db", ' +
      'retention?: { before: "7d", every?: "1h", archive?: "delta:PATH" } }`'
    )
  }
}

/** A `--store` value that names no store. */
export class InvalidStore extends Schema.TaggedError<InvalidStore>()("InvalidStore", {
  store: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `invalid store ${JSON.stringify(this.store)}: ${this.reason}. ` +
      "Use sqlite:PATH (e.g. sqlite:.tessera/events.db), postgres://user:password@host:5432/db or delta:PATH"
    )
  }
}

/** `register` was pointed at a local file that does not exist, with no checksum to stand for it. */
export class SourceFileMissing extends Schema.TaggedError<SourceFileMissing>()("SourceFileMissing", {
  path: Schema.String
}) {
  override get message(): string {
    return (
      `no file at ${this.path}: check the path, or pass --checksum for data that is not a local file ` +
      "(an object-store URL, a table) so Tessera can tell new data from data it already registered"
    )
  }
}

/** The store could not be opened: unreachable, damaged, or refused at open. */
export class StoreDidNotOpen extends Schema.TaggedError<StoreDidNotOpen>()("StoreDidNotOpen", {
  store: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot open the store ${this.store}: ${this.reason}`
  }
}

/** A build ended FAILED or CANCELLED; the build's own message says which partitions and why. */
export class BuildNotCompleted extends Schema.TaggedError<BuildNotCompleted>()("BuildNotCompleted", {
  buildRequestId: Schema.String,
  status: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `build ${this.buildRequestId} ${this.status}: ${this.reason}`
  }
}

/** A request that could not be analysed: the input names partitions that cannot be built. */
export class AnalysisFailed extends Schema.TaggedError<AnalysisFailed>()("AnalysisFailed", {
  buildRequestId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `build ${this.buildRequestId} cannot start: ${this.reason}`
  }
}

/** A dry run found source partitions no job produces and nobody registered. */
export class SourcesMissing extends Schema.TaggedError<SourcesMissing>()("SourcesMissing", {
  refs: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const shown =
      this.refs.slice(0, 10).join(", ") + (this.refs.length > 10 ? `, and ${this.refs.length - 10} more` : "")
    return (
      `source partitions are not AVAILABLE: ${shown}. No job produces them; ` +
      "register them first with `tessera register <ref> --path <file>`"
    )
  }
}

/** `tessera worker` was pointed at a store without a job queue. */
export class WorkerNeedsPostgres extends Schema.TaggedError<WorkerNeedsPostgres>()("WorkerNeedsPostgres", {
  store: Schema.String
}) {
  override get message(): string {
    return (
      `\`tessera worker\` needs a PostgreSQL store, which holds the job queue workers share, but the store is ` +
      `${this.store}: pass --store postgres://user:password@host:5432/db (the same store the builds are requested on), ` +
      "or set TESSERA_STORE"
    )
  }
}

/** `tessera compact` or `vacuum` on a store that is not a Delta table: SQLite and PostgreSQL need neither. */
export class NeedsDeltaStore extends Schema.TaggedError<NeedsDeltaStore>()("NeedsDeltaStore", {
  command: Schema.String,
  store: Schema.String
}) {
  override get message(): string {
    return (
      `\`tessera ${this.command}\` works on a Delta store (delta:PATH), whose log is a table of files, but the store ` +
      `is ${this.store}; SQLite and PostgreSQL logs need no ${this.command}`
    )
  }
}

/** `tessera compact` got options that make no sense for the store (or none it needs). */
export class InvalidCompaction extends Schema.TaggedError<InvalidCompaction>()("InvalidCompaction", {
  store: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `\`tessera compact\` on ${this.store}: ${this.reason}`
  }
}

/** An `--archive` (or a retention policy's `archive`) that is not a Delta table path. */
export class InvalidArchive extends Schema.TaggedError<InvalidArchive>()("InvalidArchive", {
  archive: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the archive "${this.archive}" ${this.reason}: give delta:PATH, a folder that holds (or will hold) a Delta table`
  }
}

/** SIGINT (Ctrl-C) or SIGTERM stopped the command before it finished. */
export class Interrupted extends Schema.TaggedError<Interrupted>()("Interrupted", {}) {
  override get message(): string {
    return (
      "interrupted by SIGINT or SIGTERM: a build this command was running is CANCELLED and its partitions " +
      "released; a worker's unfinished runs are back in the queue; a daemon's sensor and schedule builds " +
      "stay EXECUTING and the next daemon resumes them"
    )
  }
}

/** `tessera serve` could not listen where it was asked to (the port is taken, the address is not this machine's). */
export class ServeFailed extends Schema.TaggedError<ServeFailed>()("ServeFailed", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot listen on ${this.address}: ${this.reason}. Choose another --port (0 picks a free one) or --host`
  }
}
