/**
 * `tessera sensors` and `tessera schedules`: the graph's sensors and schedules as a daemon on this
 * store runs them, whether each is paused, and when it last ran and runs next. A read: the state
 * table is opened read-only and made by no one but a daemon or server.
 */
import { Command } from "@effect/cli"
import { AutomationOverview, type Graph } from "@tessera/core"
import { Console, Effect } from "effect"
import * as AutomationTable from "../automation/AutomationTable.js"
import * as Settings from "../config/Settings.js"
import * as Store from "../config/Store.js"
import type { CommandError } from "../Errors.js"
import * as Format from "../render/Format.js"
import { table } from "../render/Table.js"
import { settings, shared } from "./Root.js"

const at = (ms: number | undefined) => (ms === undefined ? "-" : Format.instant(ms))

const listing = <A>(
  command: string,
  read: (graph: Graph.Graph) => Effect.Effect<A, CommandError, AutomationOverview.Requirements>,
  render: (value: A) => ReadonlyArray<string>
) =>
  Command.make(command, shared, (flags) =>
    Effect.gen(function* () {
      const resolved = yield* settings(flags)
      const graph = yield* Settings.loadGraph(resolved, command)
      const value = yield* read(graph).pipe(
        Effect.provide(Store.layer(resolved.store)),
        Effect.provide(AutomationTable.layer(resolved.store, { create: false }))
      )
      if (flags.json) return yield* Console.log(JSON.stringify({ [command]: value }, null, 2))
      for (const line of render(value)) yield* Console.log(line)
    }).pipe((effect): Effect.Effect<void, CommandError, Command.Command.Context<"tessera">> => effect)
  )

export const sensors = listing("sensors", AutomationOverview.sensors, (rows) =>
  rows.length === 0
    ? ["The graph declares no sensor (Graph.make(jobs, { sensors: [Sensor.files(...)] }))."]
    : table(
        ["SENSOR", "WATCHES", "STATE", "LAST PASS", "NEXT SCAN", "LAST ERROR"],
        rows.map((s) => [
          s.name,
          s.type === "files" ? `${s.glob} -> ${s.as}` : `custom, every ${Format.duration(s.intervalMs)}`,
          s.paused ? "paused" : "running",
          at(s.lastRunAt),
          at(s.nextRunAt),
          s.lastError ?? ""
        ])
      )
).pipe(Command.withDescription("List the graph's sensors: paused or not, last pass, next scan"))

export const schedules = listing("schedules", AutomationOverview.schedules, (rows) =>
  rows.length === 0
    ? ["The graph declares no schedule (Graph.make(jobs, { schedules: [Schedule.cron(...)] }))."]
    : table(
        ["SCHEDULE", "CRON", "STATE", "LAST TICK", "BUILD", "NEXT TICK", "CATCH-UP"],
        rows.map((s) => [
          s.name,
          `${s.cron} (${s.timeZone})`,
          s.paused ? "paused" : "running",
          at(s.lastTick?.at),
          s.lastTick === undefined ? "-" : `${s.lastTick.buildRequestId} ${s.lastTick.status}`,
          at(s.nextTick),
          s.catchUp
        ])
      )
).pipe(Command.withDescription("List the graph's schedules: paused or not, last tick (from the log), next tick"))
