import { Command, Options } from "@effect/cli"
import { Console, Duration, Effect, Layer, Option } from "effect"
import * as Settings from "../config/Settings.js"
import * as Store from "../config/Store.js"
import * as AutomationTable from "../automation/AutomationTable.js"
import * as Daemon from "../automation/Daemon.js"
import type { CommandError } from "../Errors.js"
import { positive } from "./build.js"
import { settings, shared } from "./Root.js"

/** `--lease` of `daemon` and `serve`: the lease of the job runs their sensors' and schedules' builds run. */
export const automationLease = Options.integer("lease").pipe(
  Options.withSchema(positive("lease")),
  Options.withDescription(
    "Lease in ms of the job runs the graph's sensors' and schedules' builds run here; when this process dies, " +
      "a daemon (or this one restarted) takes them over after it runs out (default 30000)"
  ),
  Options.optional
)

/**
 * Runs the graph's sensors and schedules without the server, until SIGTERM or SIGINT. Any number of
 * daemons (and servers) may run on one store: a file version is registered once and a tick fires
 * once whichever of them sees it first.
 */
export const daemon = Command.make(
  "daemon",
  {
    lease: automationLease,
    ...shared
  },
  (options) =>
    Effect.gen(function* () {
      const resolved = yield* settings(options, { retention: true })
      const graph = yield* Settings.loadGraph(resolved, "daemon")
      const cwd = yield* Effect.sync(() => process.cwd())
      const store = resolved.store
      const policy = Option.getOrUndefined(resolved.retention)
      const retention = policy === undefined || store._tag === "Delta" ? [] : [Daemon.retention(policy, store)]
      const loops = [...Daemon.loops(graph, { cwd, leaseMs: Option.getOrUndefined(options.lease) }), ...retention]
      yield* Console.log(
        `daemon on ${Store.describe(store)}: ${graph.sensors.length} sensor(s), ` +
          `${graph.schedules.length} schedule(s)` +
          (Daemon.hasAutomations(graph) ? "" : " (the graph declares none: only left-over builds are resumed)") +
          (policy === undefined
            ? ""
            : store._tag === "Delta"
              ? "; the retention policy is for SQLite and PostgreSQL logs (a Delta log compacts its files itself)"
              : `; retention: events of finished builds older than ${policy.before} compacted every ${Duration.format(policy.every)}`) +
          "; stop it with SIGTERM or Ctrl-C"
      )
      return yield* Daemon.run(graph, loops).pipe(
        Effect.onInterrupt(() => Console.log("daemon: stopped; unfinished builds are resumed by the next daemon")),
        // The table after the store: on PostgreSQL the store's migrations make the schema it goes in.
        Effect.provide(
          Layer.provideMerge(AutomationTable.layer(resolved.store, { create: true }), Store.layer(resolved.store))
        )
      )
    }).pipe((effect): Effect.Effect<never, CommandError, Command.Command.Context<"tessera">> => effect)
).pipe(
  Command.withDescription(
    "Run the graph's sensors and schedules (what `serve` runs too), without the server, until stopped"
  )
)
