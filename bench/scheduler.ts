/**
 * The scheduler: no-op jobs per second through the local executor, in memory and on a SQLite file,
 * beside running the same no-op effects with no log at all; and analysis of a 3-year hourly graph
 * (4 jobs, ~105k partitions): plan time and heap.
 *
 *   npm run bench -- scheduler [jobs=2000] [hours=26280]
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Builds, type EventLog, Graph, InMemoryEventLog, Job, Plan, pattern } from "@tessera/core"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Effect, Either, Layer } from "effect"
import { type Benchmark, report, timed } from "./src/report.js"

const noop = Job.make({ name: "noop", outputs: [pattern("noop/n={n}")], run: () => Effect.succeed({}) })
const noopGraph = Graph.make([noop])

const jobsPerSecond = (store: Layer.Layer<EventLog.EventLog, unknown>, jobs: number) =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    const refs = Array.from({ length: jobs }, (_, i) => `noop/n=${i}`)
    const [result, ms] = yield* timed(Effect.flatMap(builds.request(refs, { concurrency: 16 }), (h) => h.await))
    if (result.status !== "COMPLETED" || result.built !== jobs) {
      return yield* Effect.fail(new Error(`expected ${jobs} built, got ${result.status} with ${result.built}`))
    }
    return (jobs / ms) * 1000
  }).pipe(Effect.provide(Layer.provideMerge(Builds.layer(noopGraph), store)))

/** Three years of hourly partitions through four jobs: raw (source) -> clean -> enriched -> scored (hourly) -> daily. */
const hourlyGraph = () => {
  const hour = (ref: string) => Number(ref.slice(ref.lastIndexOf("=") + 1))
  return Graph.make([
    Job.make({
      name: "clean",
      outputs: [pattern("clean/hour={h}")],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [`raw/hour=${hour(ref)}`] })),
      run: () => Effect.succeed({})
    }),
    Job.make({
      name: "enrich",
      outputs: [pattern("enriched/hour={h}")],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [`clean/hour=${hour(ref)}`] })),
      run: () => Effect.succeed({})
    }),
    Job.make({
      name: "score",
      outputs: [pattern("scored/hour={h}")],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [`enriched/hour=${hour(ref)}`] })),
      run: () => Effect.succeed({})
    }),
    Job.make({
      name: "daily",
      outputs: [pattern("daily/day={d}")],
      config: (refs) =>
        refs.map((ref) => {
          const day = hour(ref)
          return { outputs: [ref], inputs: Array.from({ length: 24 }, (_, h) => `scored/hour=${day * 24 + h}`) }
        }),
      run: () => Effect.succeed({})
    })
  ])
}

const bench: Benchmark = (args) =>
  Effect.gen(function* () {
    const jobs = Number(args[0] ?? 2000)
    const hours = Number(args[1] ?? 26_280)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-bench-"))
    const [, rawMs] = yield* timed(
      Effect.forEach(Array.from({ length: jobs }), () => Effect.succeed({}), { concurrency: 16, discard: true })
    )
    const raw = (jobs / rawMs) * 1000
    const memory = yield* jobsPerSecond(InMemoryEventLog.layer, jobs)
    const sqlite = yield* jobsPerSecond(SqliteEventLog.layer({ filename: path.join(dir, "events.db") }), jobs)
    fs.rmSync(dir, { recursive: true, force: true })

    const days = Math.floor(hours / 24)
    const graph = hourlyGraph()
    const before = process.memoryUsage().heapUsed
    const requested = Array.from({ length: days }, (_, day) => `daily/day=${day}`)
    const [planned, planMs] = yield* timed(Effect.sync(() => Plan.plan(graph, requested)))
    const heapMb = (process.memoryUsage().heapUsed - before) / 2 ** 20
    const plan = Either.getOrThrow(planned)
    const partitions = plan.producers.size + plan.sources.size
    yield* report("scheduler", [
      {
        case: `no-op jobs, in memory (${jobs})`,
        unit: "jobs/s",
        value: memory,
        baseline: { name: "Effect.forEach, no log", value: raw },
        higherIsBetter: true
      },
      {
        case: `no-op jobs, SQLite file (${jobs})`,
        unit: "jobs/s",
        value: sqlite,
        baseline: { name: "in-memory store", value: memory },
        higherIsBetter: true
      },
      {
        case: `analyse + plan ${partitions} partitions (${plan.runs.size} runs)`,
        unit: "ms",
        value: planMs,
        higherIsBetter: false
      },
      { case: "heap held by that plan", unit: "MiB", value: heapMb, higherIsBetter: false }
    ])
  })

export default bench
