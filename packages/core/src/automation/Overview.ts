/**
 * What the dashboard, the API and `tessera sensors` / `tessera schedules` show of a graph's sensors
 * and schedules: whether each is paused, when it last ran and when it runs next. A schedule's last
 * tick is read from the log (its recent ticks' build ids, looked up in the build requests view), so
 * it is right on every store; pauses and a sensor's last pass come from `AutomationState`.
 */
import { Clock, Effect, Schema } from "effect"
import { BuildRequestStatus } from "../event/Status.js"
import type { Graph } from "../graph/Graph.js"
import { EventLog } from "../log/EventLog.js"
import * as Schedule from "./Schedule.js"
import { AutomationState } from "./State.js"
import * as Ticks from "./Ticks.js"

/** How many of a schedule's most recent ticks are looked up for its last one. */
export const RECENT_TICKS = 50

/** What the listings read: the log, and the state beside it. */
export type Requirements = EventLog | AutomationState

const Millis = Schema.Number

export const ScheduleInfo = Schema.Struct({
  name: Schema.String,
  cron: Schema.String,
  timeZone: Schema.String,
  catchUp: Schema.String,
  paused: Schema.Boolean,
  lastTick: Schema.optional(Schema.Struct({ at: Millis, buildRequestId: Schema.String, status: BuildRequestStatus })),
  nextTick: Schema.optional(Millis),
  lastError: Schema.optional(Schema.String)
}).annotations({ identifier: "ScheduleInfo" })
export type ScheduleInfo = typeof ScheduleInfo.Type

export const SensorInfo = Schema.Struct({
  name: Schema.String,
  type: Schema.Literal("files", "custom"),
  glob: Schema.optional(Schema.String),
  as: Schema.optional(Schema.String),
  intervalMs: Millis,
  paused: Schema.Boolean,
  lastRunAt: Schema.optional(Millis),
  nextRunAt: Schema.optional(Millis),
  lastError: Schema.optional(Schema.String)
}).annotations({ identifier: "SensorInfo" })
export type SensorInfo = typeof SensorInfo.Type

export const describeCatchUp = (catchUp: Schedule.CatchUp): string =>
  catchUp === "skip" ? "skip" : `run the last ${catchUp.missed} missed`

/** The sensors of `graph`, as the state says they ran. */
export const sensors = Effect.fn("Automation.sensors")(function* (graph: Graph) {
  const rows = yield* (yield* AutomationState).rows(graph.sensors.map((s) => s.name))
  return graph.sensors.map((sensor): SensorInfo => {
    const row = rows.get(sensor.name)
    const intervalMs = sensor._tag === "FileSensor" ? sensor.pollMs : sensor.intervalMs
    const paused = row?.paused ?? false
    return {
      name: sensor.name,
      type: sensor._tag === "FileSensor" ? "files" : "custom",
      ...(sensor._tag === "FileSensor" ? { glob: sensor.glob, as: sensor.as } : {}),
      intervalMs,
      paused,
      ...(row?.lastRunAt === undefined ? {} : { lastRunAt: row.lastRunAt }),
      ...(row?.lastRunAt === undefined || paused ? {} : { nextRunAt: row.lastRunAt + intervalMs }),
      ...(row?.lastError === undefined ? {} : { lastError: row.lastError })
    }
  })
})

/** The schedules of `graph`: last tick from the log, next from the cron expression. */
export const schedules = Effect.fn("Automation.schedules")(function* (graph: Graph) {
  const log = yield* EventLog
  const rows = yield* (yield* AutomationState).rows(graph.schedules.map((s) => s.name))
  const now = yield* Clock.currentTimeMillis
  const out: Array<ScheduleInfo> = []
  for (const schedule of graph.schedules) {
    const recent = Schedule.between(schedule, Number.NEGATIVE_INFINITY, now, RECENT_TICKS)
    const last = (yield* Ticks.fired(log, schedule, recent))[0]
    const row = rows.get(schedule.name)
    const paused = row?.paused ?? false
    const next = paused ? undefined : Schedule.nextAfter(schedule, now)
    out.push({
      name: schedule.name,
      cron: schedule.cron,
      timeZone: schedule.timeZone,
      catchUp: describeCatchUp(schedule.catchUp),
      paused,
      ...(last === undefined
        ? {}
        : { lastTick: { at: last.at, buildRequestId: last.row.buildRequestId, status: last.row.status } }),
      ...(next === undefined ? {} : { nextTick: next }),
      ...(row?.lastError === undefined ? {} : { lastError: row.lastError })
    })
  }
  return out
})

/** Which kind `name` is in `graph`, or undefined when it names no sensor or schedule. */
export const kindOf = (graph: Graph, name: string): "sensor" | "schedule" | undefined =>
  graph.sensors.some((s) => s.name === name)
    ? "sensor"
    : graph.schedules.some((s) => s.name === name)
      ? "schedule"
      : undefined
