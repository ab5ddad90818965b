import * as os from "node:os"
import { Command, Options } from "@effect/cli"
import { Worker } from "@tessera/core"
import { Console, Effect, Option } from "effect"
import * as Settings from "../config/Settings.js"
import * as Store from "../config/Store.js"
import { type CommandError, WorkerNeedsPostgres } from "../Errors.js"
import { positive } from "./build.js"
import { settings, shared } from "./Root.js"

const describeStore = (store: Store.StoreSpec) =>
  store._tag === "Sqlite" ? `sqlite:${store.filename}` : store._tag === "Delta" ? `delta:${store.path}` : "postgres"

/**
 * Runs job runs of builds requested with `--executor workers`, until SIGTERM or SIGINT: then it stops
 * claiming, stops what it runs (their partitions are released) and gives their queue entries back.
 */
export const worker = Command.make(
  "worker",
  {
    concurrency: Options.integer("concurrency").pipe(
      Options.withSchema(positive("concurrency")),
      Options.withDescription("Job runs this worker executes at once (default 4)"),
      Options.optional
    ),
    lease: Options.integer("lease").pipe(
      Options.withSchema(positive("lease")),
      Options.withDescription(
        "Lease in ms on what this worker holds (its queue entries and its job runs' partitions), renewed every " +
          "third; when the worker dies, other workers take its runs over after it runs out " +
          "(default: the build's --lease, else 30000)"
      ),
      Options.optional
    ),
    versionWait: Options.integer("version-wait").pipe(
      Options.withSchema(positive("version-wait")),
      Options.withDescription(
        "How long in ms a run whose job this worker's graph has at another version (or not at all) is left " +
          "for a worker with the version the build planned; then this worker fails it, naming both (default 10000)"
      ),
      Options.optional
    ),
    id: Options.text("id").pipe(
      Options.withDescription("How this worker appears in the queue and the logs (default <hostname>-<pid>)"),
      Options.optional
    ),
    poll: Options.integer("poll").pipe(
      Options.withSchema(positive("poll")),
      Options.withDescription("How often in ms to look for work when no notification came (default 1000)"),
      Options.optional
    ),
    ...shared
  },
  (options) =>
    Effect.gen(function* () {
      const resolved = yield* settings(options)
      const store = resolved.store
      if (store._tag !== "Postgres") return yield* new WorkerNeedsPostgres({ store: describeStore(store) })
      const graph = yield* Settings.loadGraph(resolved, "worker")
      const id = Option.getOrElse(options.id, () => `${os.hostname()}-${process.pid}`)
      const concurrency = Option.getOrElse(options.concurrency, () => 4)
      yield* Console.log(
        `worker ${id}: running job runs of builds requested with --executor workers ` +
          `(concurrency ${concurrency}); stop it with SIGTERM or Ctrl-C`
      )
      return yield* Worker.run(graph, {
        id,
        concurrency,
        leaseMs: Option.getOrUndefined(options.lease),
        versionWaitMs: Option.getOrUndefined(options.versionWait),
        pollInterval: Option.getOrElse(options.poll, () => 1000)
      }).pipe(
        Effect.onInterrupt(() => Console.log(`worker ${id}: stopped; unfinished runs given back to the queue`)),
        Effect.provide(Store.postgresLayer(store, "tessera-worker"))
      )
    }).pipe((effect): Effect.Effect<never, CommandError, Command.Command.Context<"tessera">> => effect)
).pipe(
  Command.withDescription(
    "Run job runs of builds requested with --executor workers, from the PostgreSQL store's queue, until stopped"
  )
)
