/**
 * What `tessera daemon` and `tessera serve` run beside everything else: one fiber per sensor and
 * schedule of the graph, and one that resumes builds a dead daemon left, all in the caller's scope;
 * the daemon adds the config's retention policy as one more loop.
 */
import { Automation, type AutomationState, Builds, type EventLog, type Graph } from "@tessera/core"
import { Effect } from "effect"
import * as Store from "../config/Store.js"
import * as Retention from "../retention/Retention.js"
import * as FileSensor from "./FileSensor.js"

export interface Options extends Automation.Options {
  /** Where file sensors' globs are read from. */
  readonly cwd: string
}

/** The loops of `graph`'s sensors and schedules. */
export const loops = (graph: Graph.Graph, options: Options): ReadonlyArray<Automation.Loop> =>
  Automation.loops(graph, (sensor) => FileSensor.loop(sensor, options.cwd, options), options)

/**
 * The retention policy on its timetable, compacting `store` (a SQL store: a Delta log compacts itself).
 * A store it cannot open yet is tried again at the next tick, like a failed compaction.
 */
export const retention = (
  policy: Retention.Policy,
  store: Exclude<Store.StoreSpec, { readonly _tag: "Delta" }>
): Automation.Loop => ({
  name: "retention",
  run: Retention.run(policy).pipe(
    Effect.provide(Store.compactorLayer(store)),
    Effect.catchAll((error) =>
      Effect.zipRight(
        Effect.logWarning(`retention: cannot open the store, trying again later: ${error.message}`),
        Effect.sleep(policy.every)
      )
    ),
    Effect.forever
  )
})

/** Whether `graph` declares anything for a daemon to run. */
export const hasAutomations = (graph: Graph.Graph): boolean => graph.sensors.length + graph.schedules.length > 0

/**
 * Runs `loops` until interrupted, with builds of `graph` on the event log in context and the
 * automation state in context (`AutomationTable.layer`); the builds stop with it.
 */
export const run = (
  graph: Graph.Graph,
  loops: ReadonlyArray<Automation.Loop>
): Effect.Effect<never, never, EventLog.EventLog | AutomationState.AutomationState> =>
  Effect.scoped(Automation.runAll(loops)).pipe(Effect.provide(Builds.layer(graph)))
