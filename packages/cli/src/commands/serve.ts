import { Command, Options } from "@effect/cli"
import { BuildErrors } from "@tessera/core"
import { Config, Console, Effect, Layer, Option, Schema } from "effect"
import * as AutomationTable from "../automation/AutomationTable.js"
import * as Daemon from "../automation/Daemon.js"
import * as Settings from "../config/Settings.js"
import * as Store from "../config/Store.js"
import { type CommandError, ServeFailed } from "../Errors.js"
import type { Subscriptions } from "@tessera/server"
import { automationLease } from "./daemon.js"
import { settings, shared } from "./Root.js"

const port = Schema.Number.pipe(
  Schema.int(),
  Schema.between(0, 65535, { message: () => "--port must be a whole number from 0 to 65535 (0 picks a free port)" })
)

/**
 * The server package, imported only when `serve` runs: its HTTP stack (@effect/platform-node's
 * server, the API declaration) would otherwise load with every command line.
 */
const loadServer = Effect.promise(() => import("@tessera/server"))

/** Where webhook cursors are kept: beside the log, on the stores that have tables; Delta keeps none. */
const cursors = (store: Store.StoreSpec, subscriptions: typeof Subscriptions) =>
  Effect.promise(async () => {
    switch (store._tag) {
      case "Sqlite":
        return subscriptions.sqlite(store.filename)
      case "Postgres": {
        const { PgEventLog } = await import("@tessera/store-postgres")
        return subscriptions.postgres({ url: store.url, schema: store.schema ?? PgEventLog.DEFAULT_SCHEMA })
      }
      case "Delta":
        return Layer.empty
    }
  })

export const serve = Command.make(
  "serve",
  {
    port: Options.integer("port").pipe(
      Options.withSchema(port),
      Options.withDescription("The TCP port to listen on (default 4000)"),
      Options.withDefault(4000)
    ),
    host: Options.text("host").pipe(
      Options.withDescription(
        "The address to listen on; 0.0.0.0 for every interface (default 127.0.0.1: this machine only)"
      ),
      Options.withDefault("127.0.0.1")
    ),
    token: Options.text("token").pipe(
      Options.withDescription(
        "Changes (requesting, cancelling, resuming builds, invalidating, registering) then need " +
          "`Authorization: Bearer <token>`; reads stay open. Falls back to TESSERA_TOKEN"
      ),
      Options.withFallbackConfig(Config.string("TESSERA_TOKEN")),
      Options.optional
    ),
    webhookSecret: Options.text("webhook-secret").pipe(
      Options.withDescription(
        "Signs the webhooks of builds requested with callbackUrl (HMAC-SHA256 in Tessera-Signature). " +
          "Falls back to TESSERA_WEBHOOK_SECRET, then to the token"
      ),
      Options.withFallbackConfig(Config.string("TESSERA_WEBHOOK_SECRET")),
      Options.optional
    ),
    readOnly: Options.boolean("read-only").pipe(
      Options.withDescription("Answer reads only: every change is refused (403) and the dashboard shows no actions")
    ),
    lease: automationLease,
    executor: Options.choice("executor", ["local", "workers"]).pipe(
      Options.withDescription(
        "Where the job runs of builds requested here execute when the request names no executor: in this " +
          "process (local, the default) or in `tessera worker` processes (workers, PostgreSQL store)"
      ),
      Options.optional
    ),
    ...shared
  },
  (options) =>
    Effect.gen(function* () {
      const resolved = yield* settings(options)
      const executor = Option.getOrElse(options.executor, () => "local" as const)
      if (executor === "workers" && resolved.store._tag !== "Postgres") {
        return yield* new BuildErrors.WorkersUnavailable({ store: resolved.store._tag.toLowerCase() })
      }
      const graph = Option.isSome(resolved.graph) ? yield* Settings.loadGraph(resolved, "serve") : undefined
      const server = yield* loadServer
      return yield* Effect.scoped(
        Effect.gen(function* () {
          const { url } = yield* server.Server.start({
            port: options.port,
            host: options.host,
            token: Option.getOrUndefined(options.token),
            readOnly: options.readOnly,
            executor,
            graph,
            webhookSecret: Option.getOrUndefined(options.webhookSecret)
          }).pipe(
            Effect.mapError(
              (error) =>
                new ServeFailed({
                  address: `${options.host}:${options.port}`,
                  reason: String(error.cause ?? error.message)
                })
            )
          )
          // A read-only server changes nothing, so it runs no sensor or schedule either.
          const automations = graph !== undefined && Daemon.hasAutomations(graph) && !options.readOnly
          if (automations) {
            const cwd = yield* Effect.sync(() => process.cwd())
            const loops = Daemon.loops(graph, { cwd, leaseMs: Option.getOrUndefined(options.lease) })
            yield* Effect.forkScoped(Daemon.run(graph, loops))
          }
          yield* Console.log(
            `Tessera serves ${Store.describe(resolved.store)} at ${url} ` +
              `(${graph === undefined ? "no graph: reads and cancels only" : `${graph.jobs.length} job(s)`}` +
              (automations ? `, ${graph.sensors.length} sensor(s), ${graph.schedules.length} schedule(s)` : "") +
              `${options.readOnly ? ", read-only" : ""}); stop it with Ctrl-C`
          )
          return yield* Effect.never
        })
      ).pipe(
        Effect.provide(
          // The tables after the store: on PostgreSQL the store's migrations make the schema they go in
          // (built beside it, the webhook table's CREATE failed on a fresh schema).
          Layer.provideMerge(
            Layer.merge(
              yield* cursors(resolved.store, server.Subscriptions),
              AutomationTable.layer(resolved.store, { create: !options.readOnly })
            ),
            Store.layer(resolved.store)
          )
        )
      )
    }).pipe((effect): Effect.Effect<never, CommandError, Command.Command.Context<"tessera">> => effect)
).pipe(
  Command.withDescription(
    "Serve the API (/api/v1, /api/openapi.json), live event streams and the dashboard over HTTP, until stopped"
  )
)
