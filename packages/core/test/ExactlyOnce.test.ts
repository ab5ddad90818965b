/**
 * Exactly once at the level of the scheduler: many builds, each with a scheduler of its own as a
 * separate process would have, share one in-memory log and request overlapping parts of one graph
 * with random concurrency limits, start times and job durations. However their steps interleave,
 * every partition's job executes once, counted outside the log, and every build completes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Builds, EventLog, Graph, InMemoryEventLog, Job, pattern } from "@tessera/core"
import { Context, Effect, FastCheck as fc, Layer } from "effect"

const DAYS = 4

const date = (ref: string) => ref.slice(ref.indexOf("=") + 1)
const days = Array.from({ length: DAYS }, (_, i) => `2026-11-0${i + 1}`)

/** A diamond per day and a fan-in over every day; each job sleeps `delays(ref)` ms and counts its execution. */
const graph = (executions: Map<string, number>, delays: (ref: string) => number) => {
  const run = (ctx: Job.JobContext) =>
    Effect.gen(function* () {
      const ref = ctx.outputs[0]!
      executions.set(ref, (executions.get(ref) ?? 0) + 1)
      yield* Effect.sleep(delays(ref))
      return { ref }
    })
  const daily = (name: string, inputs: (day: string) => ReadonlyArray<string>) =>
    Job.make({
      name,
      outputs: [pattern(`${name}/date={date}`)],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [...inputs(date(ref))] })),
      run
    })
  return Graph.make([
    daily("a", () => []),
    daily("b", (day) => [`a/date=${day}`]),
    daily("c", (day) => [`a/date=${day}`]),
    daily("d", (day) => [`b/date=${day}`, `c/date=${day}`]),
    Job.make({
      name: "summary",
      outputs: [pattern("summary/all")],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: days.map((day) => `d/date=${day}`) })),
      run
    })
  ])
}

const everything = [...["a", "b", "c", "d"].flatMap((name) => days.map((day) => `${name}/date=${day}`)), "summary/all"]

/** What one racing build asks for, when it starts and how many jobs it runs at once. */
const builder = fc.record({
  refs: fc.oneof(
    fc.constant(["summary/all"]),
    fc.subarray(
      days.map((day) => `d/date=${day}`),
      { minLength: 1 }
    ),
    fc.subarray(
      days.map((day) => `b/date=${day}`),
      { minLength: 1 }
    )
  ),
  startAfterMs: fc.integer({ min: 0, max: 15 }),
  concurrency: fc.integer({ min: 1, max: 4 })
})

describe("exactly once across racing schedulers", () => {
  it.live.prop(
    "builds racing over one log execute each partition's job once, whatever the interleaving",
    [fc.array(builder, { minLength: 2, maxLength: 6 }), fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1 })],
    ([builders, durations]) =>
      Effect.gen(function* () {
        const executions = new Map<string, number>()
        const delays = (ref: string) => durations[everything.indexOf(ref) % durations.length]!
        const log = yield* InMemoryEventLog.make
        const pipeline = graph(executions, delays)
        const results = yield* Effect.forEach(
          builders,
          (b) =>
            Effect.gen(function* () {
              yield* Effect.sleep(b.startAfterMs)
              // A scheduler of its own, as another process would have; only the log is shared.
              const context = yield* Layer.build(
                Builds.layer(pipeline).pipe(Layer.provide(Layer.succeed(EventLog.EventLog, log)))
              )
              const builds = Context.get(context, Builds.Builds)
              const handle = yield* builds.request(b.refs, { concurrency: b.concurrency })
              return yield* handle.await
            }),
          { concurrency: "unbounded" }
        )
        for (const result of results) expect(result.status, result.message).toBe("COMPLETED")
        const twice = [...executions].filter(([, n]) => n !== 1)
        expect(twice).toEqual([])
        const requested = new Set(builders.flatMap((b) => b.refs))
        // Every partition some request needed was built, and nothing else.
        for (const ref of requested) expect(executions.get(ref)).toBe(1)
      }).pipe(Effect.scoped),
    { fastCheck: { numRuns: 60 } }
  )
})
