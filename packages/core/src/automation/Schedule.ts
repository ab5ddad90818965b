/**
 * Cron schedules: declared in the graph module, each tick requests the builds `build` names for it.
 * Cron expressions are read by croner (maintained, no dependencies, IANA time zones and DST handled,
 * and it enumerates past ticks, which catch-up needs); Tessera only decides what a tick builds and
 * makes each tick one build request in the log, so it fires once across restarts and daemons.
 */
import { Cron } from "croner"
import { Either } from "effect"
import * as Dimension from "../dimension/Dimension.js"
import * as Name from "./Name.js"

/** One instant a schedule fires at, with the periods around it on the schedule's wall clock. */
export interface Tick {
  /** ms since the epoch. */
  readonly at: number
  readonly timeZone: string
  /**
   * The period of `dimension` holding the tick, moved by `offset` periods: with a daily dimension,
   * `tick.period(daily, -1)` is yesterday on the dimension's wall clock.
   */
  readonly period: (dimension: Dimension.DateDimension, offset?: number) => string
  /** The day of the tick on the schedule's wall clock (YYYY-MM-DD), moved by `offsetDays`. */
  readonly date: (offsetDays?: number) => string
}

/**
 * After downtime: `"skip"` forgets the ticks missed while no daemon ran; `{ missed: n }` fires the
 * most recent `n` of them (oldest first) before waiting for the next.
 */
export type CatchUp = "skip" | { readonly missed: number }

export interface CronSchedule {
  readonly _tag: "CronSchedule"
  readonly name: string
  readonly cron: string
  readonly timeZone: string
  readonly build: (tick: Tick) => ReadonlyArray<string>
  readonly catchUp: CatchUp
}

/** Like Dagster's default `max_catchup_runs`: a short outage is made up for, a long one does not flood. */
export const DEFAULT_CATCH_UP: CatchUp = { missed: 5 }

/** The most missed ticks a schedule may fire after downtime. */
export const MAX_CATCH_UP = 1000

const parse = (name: string, cron: string, timeZone: string): Cron => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone })
  } catch {
    throw new Name.InvalidAutomation({ name, reason: `unknown time zone ${JSON.stringify(timeZone)}` })
  }
  try {
    return new Cron(cron, { timezone: timeZone, paused: true })
  } catch (error) {
    throw new Name.InvalidAutomation({
      name,
      reason: `cron ${JSON.stringify(cron)} does not parse: ${error instanceof Error ? error.message : String(error)}`
    })
  }
}

/**
 * A schedule firing on `cron` (5 fields, or 6 with seconds first) read in `timeZone` (default UTC).
 * Throws `InvalidAutomation` for a bad name, expression, zone or catch-up bound.
 */
export const cron = (options: {
  readonly name: string
  readonly cron: string
  readonly timeZone?: string
  readonly build: (tick: Tick) => ReadonlyArray<string>
  readonly catchUp?: CatchUp
}): CronSchedule => {
  const name = Name.check(options.name)
  const timeZone = options.timeZone ?? "UTC"
  parse(name, options.cron, timeZone)
  const catchUp = options.catchUp ?? DEFAULT_CATCH_UP
  if (
    catchUp !== "skip" &&
    (!Number.isInteger(catchUp.missed) || catchUp.missed < 0 || catchUp.missed > MAX_CATCH_UP)
  ) {
    throw new Name.InvalidAutomation({
      name,
      reason: `catchUp.missed is ${catchUp.missed}: give a whole number from 0 to ${MAX_CATCH_UP}`
    })
  }
  return { _tag: "CronSchedule", name, cron: options.cron, timeZone, build: options.build, catchUp }
}

/** The tick at `at` for `schedule`. */
export const tick = (schedule: CronSchedule, at: number): Tick => {
  const period = (dimension: Dimension.DateDimension, offset = 0) =>
    Either.getOrThrow(Dimension.shift(dimension, "tick", Dimension.current(dimension, at), offset))
  const day = Dimension.date({ granularity: "daily", start: "1970-01-01", timeZone: schedule.timeZone })
  return { at, timeZone: schedule.timeZone, period, date: (offsetDays = 0) => period(day, offsetDays) }
}

/** The first tick strictly after `after` (ms), or undefined when the expression never fires again. */
export const nextAfter = (schedule: CronSchedule, after: number): number | undefined =>
  parse(schedule.name, schedule.cron, schedule.timeZone).nextRun(new Date(after))?.getTime()

/** The ticks in (`after`, `until`], oldest first, at most the last `limit` of them. */
export const between = (schedule: CronSchedule, after: number, until: number, limit: number): ReadonlyArray<number> => {
  if (limit <= 0 || until <= after) return []
  // croner counts whole seconds and leaves the reference out: a second later takes a tick at `until` in.
  const found = parse(schedule.name, schedule.cron, schedule.timeZone)
    .previousRuns(limit, new Date(until + 1000))
    .map((date) => date.getTime())
    .filter((at) => at > after && at <= until)
  return found.reverse()
}
