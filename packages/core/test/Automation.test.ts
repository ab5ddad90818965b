import { describe, expect, it } from "@effect/vitest"
import {
  Automation,
  AutomationIds,
  AutomationOverview,
  AutomationState,
  Builds,
  EventLog,
  Graph,
  InMemoryEventLog,
  InvalidAutomation,
  Job,
  pattern,
  Queries,
  Schedule,
  Sensor
} from "@tessera/core"
import { Duration, Effect, Fiber, Layer, Ref, TestClock } from "effect"

const T0 = Date.parse("2026-12-01T00:00:00.000Z")
const MINUTE = 60_000

/** A graph whose one job records every run it makes in `runs`. */
const graphWith = (runs: Ref.Ref<ReadonlyArray<string>>, automations: Graph.Automations) =>
  Graph.make(
    [
      Job.make({
        name: "tick",
        outputs: [pattern("tick/at={at}")],
        run: (ctx) =>
          Effect.as(
            Ref.update(runs, (all) => [...all, ctx.outputs[0]!]),
            { ref: ctx.outputs[0]! }
          )
      }),
      Job.make({
        name: "clean",
        outputs: [pattern("clean/date={date}")],
        config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [ref.replace("clean/", "raw/")] })),
        run: (ctx) =>
          Effect.as(
            Ref.update(runs, (all) => [...all, ctx.outputs[0]!]),
            { ref: ctx.outputs[0]! }
          )
      })
    ],
    automations
  )

const minutely = (catchUp: Schedule.CatchUp = { missed: 100 }) =>
  Schedule.cron({
    name: "minutely",
    cron: "* * * * *",
    build: (tick) => [`tick/at=${tick.at}`],
    catchUp
  })

/** One daemon: the loops with a Builds of their own on the shared log and state. */
const daemon = (graph: Graph.Graph, loops: ReadonlyArray<Automation.Loop>) =>
  Effect.fork(Effect.scoped(Automation.runAll(loops)).pipe(Effect.provide(Builds.layer(graph))))

/** Lets the forked loops and builds run until none has anything left to do at this instant. */
const settle = Effect.repeatN(Effect.yieldNow(), 200)

const tickIds = Effect.gen(function* () {
  const log = yield* EventLog.EventLog
  const rows = yield* Queries.allPages((after) => log.buildRequests({ after }))
  return rows
    .filter((row) => row.buildRequestId.startsWith(AutomationIds.SCHEDULE_PREFIX))
    .map((row) => ({ id: row.buildRequestId, status: row.status, source: row.source }))
})

const minutesAfterT0 = (ids: ReadonlyArray<{ readonly id: string }>) =>
  ids.map(({ id }) => ((AutomationIds.tickOf("minutely", id) ?? 0) - T0) / MINUTE).sort((a, b) => a - b)

const env = Layer.merge(InMemoryEventLog.layer, AutomationState.memory)

describe("Schedule.cron", () => {
  it("reads the cron expression in its time zone: 02:00 in Paris builds yesterday there", () => {
    const daily = Schedule.cron({
      name: "daily",
      cron: "0 2 * * *",
      timeZone: "Europe/Paris",
      build: (tick) => [`sales/date=${tick.date(-1)}`]
    })
    const next = Schedule.nextAfter(daily, Date.parse("2026-12-01T00:30:00.000Z"))!
    expect(new Date(next).toISOString()).toBe("2026-12-01T01:00:00.000Z")
    expect(daily.build(Schedule.tick(daily, next))).toEqual(["sales/date=2026-11-30"])
    // Summer time: 02:00 in Paris is 00:00 UTC.
    expect(new Date(Schedule.nextAfter(daily, Date.parse("2026-07-01T00:30:00.000Z"))!).toISOString()).toBe(
      "2026-07-02T00:00:00.000Z"
    )
    expect(Schedule.between(daily, next - 3 * 86_400_000, next, 10).length).toBe(3)
    expect(Schedule.between(daily, next - 3 * 86_400_000, next, 2)).toEqual([next - 86_400_000, next])
  })

  it("refuses a bad expression, time zone, catch-up bound or name, and a name declared twice", () => {
    const build = () => []
    expect(() => Schedule.cron({ name: "x", cron: "every day", build })).toThrow(InvalidAutomation)
    expect(() => Schedule.cron({ name: "x", cron: "0 2 * * *", timeZone: "Mars/Olympus", build })).toThrow(
      /unknown time zone/
    )
    expect(() => Schedule.cron({ name: "x", cron: "0 2 * * *", build, catchUp: { missed: -1 } })).toThrow(/catchUp/)
    expect(() => Schedule.cron({ name: "no spaces", cron: "0 2 * * *", build })).toThrow(/1 to 64 letters/)
    expect(() => Sensor.make({ name: "s", interval: 0, run: Effect.succeed({}) })).toThrow(/interval is 0/)
    const twice = Schedule.cron({ name: "x", cron: "0 2 * * *", build })
    expect(() =>
      Graph.make([], { schedules: [twice], sensors: [Sensor.files({ name: "x", glob: "*", as: "r/f={f}" })] })
    ).toThrow(/two sensors or schedules have this name/)
  })
})

describe("schedules in daemons", () => {
  it.effect("two daemons on one log fire each tick once, as one build each", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const runs = yield* Ref.make<ReadonlyArray<string>>([])
      const graph = graphWith(runs, { schedules: [minutely()] })
      const a = yield* daemon(graph, [Automation.schedule(minutely())])
      const b = yield* daemon(graph, [Automation.schedule(minutely())])
      yield* settle
      for (let i = 0; i < 10; i++) {
        yield* TestClock.adjust(Duration.minutes(1))
        yield* settle
      }
      const ids = yield* tickIds
      expect(minutesAfterT0(ids)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(ids.every((row) => row.status === "COMPLETED" && row.source === "schedule")).toBe(true)
      expect([...(yield* Ref.get(runs))].sort()).toEqual(
        Array.from({ length: 10 }, (_, i) => `tick/at=${T0 + (i + 1) * MINUTE}`).sort()
      )
      yield* Fiber.interrupt(a)
      yield* Fiber.interrupt(b)
    }).pipe(Effect.provide(env))
  )

  it.effect("after downtime, fires the missed ticks its catch-up allows, and none twice", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const runs = yield* Ref.make<ReadonlyArray<string>>([])
      const graph = graphWith(runs, {})
      const first = yield* daemon(graph, [Automation.schedule(minutely({ missed: 3 }))])
      yield* settle
      yield* TestClock.adjust(Duration.minutes(2))
      yield* settle
      yield* Fiber.interrupt(first)
      // Down for 6 ticks; restarted, it makes up for the last 3 of them, then keeps time.
      yield* TestClock.adjust(Duration.minutes(6))
      const second = yield* daemon(graph, [Automation.schedule(minutely({ missed: 3 }))])
      yield* settle
      expect(minutesAfterT0(yield* tickIds)).toEqual([1, 2, 6, 7, 8])
      yield* TestClock.adjust(Duration.minutes(1))
      yield* settle
      yield* Fiber.interrupt(second)
      // Restarted at once: every recent tick is in the log already, so nothing fires again.
      const third = yield* daemon(graph, [Automation.schedule(minutely({ missed: 100 }))])
      yield* settle
      yield* Fiber.interrupt(third)
      expect(minutesAfterT0(yield* tickIds)).toEqual([1, 2, 6, 7, 8, 9])
      expect((yield* Ref.get(runs)).length).toBe(6)
      // "skip" forgets what was missed.
      yield* TestClock.adjust(Duration.minutes(5))
      const skipping = yield* daemon(graph, [Automation.schedule(minutely("skip"))])
      yield* settle
      expect(minutesAfterT0(yield* tickIds)).toEqual([1, 2, 6, 7, 8, 9])
      yield* TestClock.adjust(Duration.minutes(1))
      yield* settle
      yield* Fiber.interrupt(skipping)
      expect(minutesAfterT0(yield* tickIds)).toEqual([1, 2, 6, 7, 8, 9, 15])
    }).pipe(Effect.provide(env))
  )

  it.effect("a paused schedule fires nothing, and resumed it does not make up for the pause", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const runs = yield* Ref.make<ReadonlyArray<string>>([])
      const schedule = minutely({ missed: 100 })
      const graph = graphWith(runs, { schedules: [schedule] })
      const state = yield* AutomationState.AutomationState
      const fiber = yield* daemon(graph, [Automation.schedule(schedule)])
      yield* settle
      yield* TestClock.adjust(Duration.minutes(1))
      yield* settle
      yield* state.setPaused("minutely", "schedule", true, T0 + MINUTE)
      yield* TestClock.adjust(Duration.minutes(3))
      yield* settle
      expect(minutesAfterT0(yield* tickIds)).toEqual([1])
      const listed = yield* AutomationOverview.schedules(graph)
      expect(listed[0]).toMatchObject({ name: "minutely", paused: true, lastTick: { at: T0 + MINUTE } })
      expect(listed[0]?.nextTick).toBeUndefined()
      yield* state.setPaused("minutely", "schedule", false, T0 + 4 * MINUTE)
      yield* Fiber.interrupt(fiber)
      // A restart after the resume catches up from the resume, not from before the pause.
      const again = yield* daemon(graph, [Automation.schedule(schedule)])
      yield* settle
      yield* TestClock.adjust(Duration.minutes(1))
      yield* settle
      yield* Fiber.interrupt(again)
      expect(minutesAfterT0(yield* tickIds)).toEqual([1, 5])
      expect((yield* AutomationOverview.schedules(graph))[0]).toMatchObject({
        paused: false,
        lastTick: { at: T0 + 5 * MINUTE, status: "COMPLETED" },
        nextTick: T0 + 6 * MINUTE
      })
    }).pipe(Effect.provide(env))
  )
})

describe("Sensor.make", () => {
  it.effect("registers what it finds and builds downstream once per source version", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const runs = yield* Ref.make<ReadonlyArray<string>>([])
      const checksum = yield* Ref.make("v1")
      const sensor = Sensor.make({
        name: "bucket",
        interval: 10_000,
        run: Effect.map(Ref.get(checksum), (c) => ({
          register: [{ ref: "raw/date=2026-11-30", manifest: { path: "s3://b/2026-11-30.csv", checksum: c } }],
          build: ["clean/date=2026-11-30"]
        }))
      })
      const graph = graphWith(runs, { sensors: [sensor] })
      const a = yield* daemon(graph, [Automation.custom(sensor)])
      const b = yield* daemon(graph, [Automation.custom(sensor)])
      for (let i = 0; i < 3; i++) {
        yield* settle
        yield* TestClock.adjust(Duration.seconds(10))
      }
      yield* settle
      expect(yield* Ref.get(runs)).toEqual(["clean/date=2026-11-30"])
      yield* Ref.set(checksum, "v2")
      yield* TestClock.adjust(Duration.seconds(10))
      yield* settle
      yield* TestClock.adjust(Duration.seconds(10))
      yield* settle
      yield* Fiber.interrupt(a)
      yield* Fiber.interrupt(b)
      expect(yield* Ref.get(runs)).toEqual(["clean/date=2026-11-30", "clean/date=2026-11-30"])
      const log = yield* EventLog.EventLog
      const row = (yield* log.partitions({ refs: ["raw/date=2026-11-30"] })).items[0]
      expect(row?.manifest?.checksum).toBe("v2")
      const listed = (yield* AutomationOverview.sensors(graph))[0]
      expect(listed).toMatchObject({ name: "bucket", type: "custom", paused: false, lastRunAt: T0 + 50_000 })
    }).pipe(Effect.provide(env))
  )
})
