/**
 * The loops that run a graph's sensors and schedules, each a fiber of its own in the daemon's scope.
 * None keeps a cursor in memory it could lose: a schedule's ticks are build requests whose ids the
 * tick decides, a sensor's cursor is the catalog of source partitions, and pauses are in
 * `AutomationState`.
 */
import { Cause, Clock, Console, Duration, Effect, Either, Exit, Schedule as Retry, type Scope } from "effect"
import { isTerminalBuildStatus } from "../event/Status.js"
import type { Graph } from "../graph/Graph.js"
import { EventLog } from "../log/EventLog.js"
import * as Queries from "../log/Queries.js"
import { Builds, type BuildHandle } from "../scheduler/Builds.js"
import * as Ids from "./Ids.js"
import * as Schedule from "./Schedule.js"
import type * as Sensor from "./Sensor.js"
import * as SensorPass from "./SensorPass.js"
import * as Ticks from "./Ticks.js"
import { AutomationState } from "./State.js"

export interface Options {
  /** The lease of the job runs sensors and schedules request (default: the scheduler's, 30 s). */
  readonly leaseMs?: number | undefined
}

export type Requirements = Builds | EventLog | AutomationState | Scope.Scope

/** A loop the daemon runs until it stops, by name, for its messages. */
export interface Loop {
  readonly name: string
  readonly run: Effect.Effect<never, never, Requirements>
}

/** The longest a schedule sleeps at once: it looks at the clock again at least this often. */
const MAX_SLEEP_MS = 60_000

/** How long a failed sensor pass or a refused tick waits before it is tried again. */
const RETRY_MS = 5_000

/** The most time one custom sensor run may take, whatever its interval: no call waits forever. */
const MAX_RUN_MS = 600_000

const describe = (cause: Cause.Cause<unknown>): string => Cause.pretty(cause).split("\n")[0] ?? "failed"

/** Logs what `handle`'s build ended as, in the background: the loop does not wait for builds. */
const report = (what: string, handle: BuildHandle) =>
  Effect.flatMap(Effect.scope, (scope) =>
    handle.await.pipe(
      Effect.flatMap((result) => Console.log(`${what}: build ${result.buildRequestId} ${result.status}`)),
      Effect.catchAll((error) => Console.log(`${what}: build ${handle.id}: ${error.message}`)),
      Effect.forkIn(scope),
      Effect.asVoid
    )
  )

/** Requests the build of one tick, unless the schedule is paused; a tick already fired is the same build. */
const fire = (schedule: Schedule.CronSchedule, at: number, options: Options) =>
  Effect.gen(function* () {
    const state = yield* AutomationState
    const row = (yield* state.rows([schedule.name])).get(schedule.name)
    if (row?.paused === true) return
    const refs = yield* Effect.try({
      try: () => schedule.build(Schedule.tick(schedule, at)),
      catch: (error) => new Error(`build(tick) threw: ${error instanceof Error ? error.message : String(error)}`)
    })
    const id = Ids.tickBuild(schedule.name, at)
    // A store that fails for a moment does not lose the tick: the same id again is the same build.
    const handle = yield* (yield* Builds).request(refs, { id, source: "schedule", leaseMs: options.leaseMs }).pipe(
      Effect.retry({
        times: 5,
        schedule: Retry.spaced(Duration.millis(RETRY_MS)),
        while: (e) => e._tag === "StoreError"
      })
    )
    yield* state.ran(schedule.name, yield* Clock.currentTimeMillis)
    yield* Console.log(
      `schedule ${schedule.name}: tick ${new Date(at).toISOString()}: build ${id} (${refs.join(", ")})`
    )
    yield* report(`schedule ${schedule.name}`, handle)
  }).pipe(
    Effect.catchAll((error) =>
      Effect.gen(function* () {
        const message = error.message
        yield* Console.error(`schedule ${schedule.name}: tick ${new Date(at).toISOString()}: ${message}`)
        const state = yield* AutomationState
        yield* Effect.ignore(state.ran(schedule.name, yield* Clock.currentTimeMillis, message))
      })
    )
  )

/**
 * A schedule's loop. At start it fires the missed ticks its catch-up allows: of the most recent
 * `missed` ticks since it was first run or last resumed, those after the last one the log has a
 * build for. Then it sleeps to each next tick and fires it. A tick fired twice (two daemons) is
 * one build: its id is the tick's.
 */
export const schedule = (schedule: Schedule.CronSchedule, options: Options = {}): Loop => ({
  name: `schedule ${schedule.name}`,
  run: Effect.gen(function* () {
    const state = yield* AutomationState
    const started = yield* Clock.currentTimeMillis
    const row = yield* state.open(schedule.name, "schedule", started).pipe(Effect.retry({ times: 5 }), Effect.orDie)
    if (schedule.catchUp !== "skip") {
      // The missed ticks are those after the last one fired, of the most recent `missed` since `since`.
      const recent = Schedule.between(schedule, row.since, started, schedule.catchUp.missed)
      const last = (yield* Effect.orDie(Ticks.fired(yield* EventLog, schedule, recent)))[0]?.at ?? row.since
      for (const at of recent) if (at > last) yield* fire(schedule, at, options)
    }
    let cursor = started
    for (;;) {
      const next = Schedule.nextAfter(schedule, cursor)
      if (next === undefined) return yield* Effect.never
      const now = yield* Clock.currentTimeMillis
      if (now < next) {
        yield* Effect.sleep(Duration.millis(Math.min(next - now, MAX_SLEEP_MS)))
        continue
      }
      // Woken late (a suspended machine, a long pause): the ticks passed are missed ones.
      const limit = schedule.catchUp === "skip" ? 1 : Math.max(1, schedule.catchUp.missed)
      for (const at of Schedule.between(schedule, cursor, now, limit)) yield* fire(schedule, at, options)
      cursor = now
    }
  })
})

/** A custom sensor's loop: its effect every interval, unless paused. */
export const custom = (sensor: Sensor.CustomSensor, options: Options = {}): Loop => ({
  name: `sensor ${sensor.name}`,
  run: Effect.gen(function* () {
    const state = yield* AutomationState
    yield* state
      .open(sensor.name, "sensor", yield* Clock.currentTimeMillis)
      .pipe(Effect.retry({ times: 5 }), Effect.orDie)
    for (;;) {
      const row = (yield* Effect.orElseSucceed(state.rows([sensor.name]), () => new Map())).get(sensor.name)
      if (row?.paused !== true) {
        const outcome = yield* Effect.exit(
          Effect.gen(function* () {
            const found = yield* sensor.run.pipe(
              Effect.timeoutFail({
                duration: Duration.millis(Math.max(sensor.intervalMs, MAX_RUN_MS)),
                onTimeout: () => new Error(`run took longer than ${Math.max(sensor.intervalMs, MAX_RUN_MS)} ms`)
              })
            )
            const sources = found.register ?? []
            const refs = found.build ?? []
            return yield* SensorPass.run(sensor.name, sources, [{ refs, sources }], options)
          })
        )
        const at = yield* Clock.currentTimeMillis
        const error = Exit.isFailure(outcome) ? describe(outcome.cause) : undefined
        yield* Effect.ignore(state.ran(sensor.name, at, error))
        if (Exit.isSuccess(outcome)) yield* announce(sensor.name, outcome.value)
        else yield* Console.error(`sensor ${sensor.name}: ${error}`)
      }
      yield* Effect.sleep(Duration.millis(sensor.intervalMs))
    }
  })
})

/** The line a sensor pass prints when it did something, and later one per build it requested as it ends. */
export const announce = (name: string, result: SensorPass.PassResult) =>
  result.registered + result.changed === 0
    ? Effect.void
    : Effect.zipRight(
        Console.log(
          `sensor ${name}: ${result.registered} registered, ${result.changed} changed` +
            result.requested.map((r) => `; build ${r.buildRequestId} (${r.refs.join(", ")})`).join("")
        ),
        Effect.forEach(result.requested, (r) => report(`sensor ${name}`, r.handle), { discard: true })
      )

/**
 * Builds a sensor or schedule requested that no process finishes: a daemon that died mid-build
 * left them EXECUTING. They are resumed once when a daemon starts; expired leases are taken over,
 * and runs another live daemon still holds are waited for, not run twice.
 */
export const resumeLeftovers = (options: Options = {}): Loop => ({
  name: "resume",
  run: Effect.gen(function* () {
    const log = yield* EventLog
    const scheduler = yield* Builds
    const open = yield* Queries.allPages((after) =>
      log.buildRequests({ statuses: ["RECEIVED", "PLANNING", "ANALYSIS_COMPLETED", "EXECUTING"], after })
    )
    for (const row of open) {
      if (isTerminalBuildStatus(row.status)) continue
      if (!row.buildRequestId.startsWith(Ids.SCHEDULE_PREFIX) && !row.buildRequestId.startsWith(Ids.SENSOR_PREFIX))
        continue
      const resumed = yield* Effect.either(scheduler.resume(row.buildRequestId, { leaseMs: options.leaseMs }))
      if (Either.isRight(resumed)) {
        yield* Console.log(`resumed build ${row.buildRequestId}`)
        yield* report(`resumed ${row.buildRequestId}`, resumed.right)
      }
    }
    return yield* Effect.never
  }).pipe(
    Effect.catchAll((error) =>
      Effect.zipRight(Console.error(`resuming left-over builds failed: ${error.message}`), Effect.never)
    )
  )
})

/**
 * The loops of `graph`'s sensors and schedules; `files` makes the loop of a file sensor (it needs a
 * file watcher, which the CLI has). A loop restarts after a defect, a few seconds later.
 */
export const loops = (
  graph: Graph,
  files: (sensor: Sensor.FileSensor) => Loop,
  options: Options = {}
): ReadonlyArray<Loop> => [
  resumeLeftovers(options),
  ...graph.sensors.map((sensor) => (sensor._tag === "FileSensor" ? files(sensor) : custom(sensor, options))),
  ...graph.schedules.map((s) => schedule(s, options))
]

/** Runs `loops` together until interrupted; a loop that dies is logged and started again. */
export const runAll = (loops: ReadonlyArray<Loop>): Effect.Effect<never, never, Requirements> =>
  Effect.zipRight(
    Effect.forEach(
      loops,
      (loop) =>
        loop.run.pipe(
          Effect.catchAllDefect((defect) =>
            Effect.zipRight(
              Console.error(`${loop.name} stopped: ${String(defect)}; restarting in ${RETRY_MS / 1000} s`),
              Effect.sleep(Duration.millis(RETRY_MS))
            )
          ),
          Effect.forever
        ),
      { concurrency: "unbounded", discard: true }
    ),
    Effect.never
  )
