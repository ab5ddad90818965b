/**
 * The scheduler: no-op jobs per second through the local executor at concurrency 16, in memory
 * (beside the same no-op effects with no log at all) and on a SQLite file (beside raw better-sqlite3
 * doing the two durable INSERTs a job needs at least); the same jobs on a SQLite log that already
 * holds `logEvents` events, beside a log of 10,000 (a job's cost must not grow with the log); and
 * analysis of an hourly graph of ~1M partitions (4 jobs): plan time and the heap the plan holds
 * after a forced GC. One in-memory build of `jobs` no-op jobs runs first, off the clock, so the first
 * measured case is not the one that pays for compiling the scheduler's code.
 *
 *   npm run bench -- scheduler [jobs=2000] [hours=247500] [logEvents=1000000]
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { Builds, type EventLog, Graph, InMemoryEventLog, Job, Plan, pattern } from "@tessera/core"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Effect, Either, Layer, Metric } from "effect"
import { RawDatabase } from "./src/sqlite.js"
import { type Benchmark, report, timed } from "./src/report.js"
import { history } from "./src/workload.js"

/** The fastest a durable log of `jobs` jobs could be on SQLite: two autocommit INSERTs per job (claim, result). */
const rawSqliteJobsPerSecond = (filename: string, jobs: number) => {
  const db = new RawDatabase(filename)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = FULL")
  db.exec("CREATE TABLE events (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
  const insert = db.prepare("INSERT INTO events (payload) VALUES (?)")
  const start = performance.now()
  for (let i = 0; i < jobs; i++) {
    insert.run(`{"job":${i},"status":"RUNNING"}`)
    insert.run(`{"job":${i},"status":"COMPLETED"}`)
  }
  const ms = performance.now() - start
  db.close()
  return (jobs / ms) * 1000
}

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void
/** The heap in use once a full GC has run: what is really held, never a negative difference of noise. */
const heapAfterGc = () => {
  gc()
  return process.memoryUsage().heapUsed
}

const noop = Job.make({ name: "noop", outputs: [pattern("noop/n={n}")], run: () => Effect.succeed({}) })
const noopGraph = Graph.make([noop])

/** `jobs` no-op jobs, of partitions `noop/n=<first>` on: a log that built some already gets new ones. */
const jobsPerSecond = (store: Layer.Layer<EventLog.EventLog, unknown>, jobs: number, first = 0) =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    const refs = Array.from({ length: jobs }, (_, i) => `noop/n=${first + i}`)
    const [result, ms] = yield* timed(Effect.flatMap(builds.request(refs, { concurrency: 16 }), (h) => h.await))
    if (result.status !== "COMPLETED" || result.built !== jobs) {
      return yield* Effect.fail(new Error(`expected ${jobs} built, got ${result.status} with ${result.built}`))
    }
    return (jobs / ms) * 1000
  }).pipe(Effect.provide(Layer.provideMerge(Builds.layer(noopGraph), store)))

/** A SQLite log file holding about `events` events of earlier builds, written in 1,000-event appends. */
const filledLog = (filename: string, events: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const log = yield* SqliteEventLog.make({ filename })
      for (let chunk = 0; chunk * 1000 < events; chunk++) yield* log.append(history(1000, `fill${chunk}-`))
    })
  )

/**
 * Jobs per second on a log of 10,000 events and on one of `events`, the best of two runs each,
 * alternated so that drift in the machine's load hits both.
 */
const onLogsOfTwoSizes = (dir: string, events: number, jobs: number) =>
  Effect.gen(function* () {
    const small = path.join(dir, "small.db")
    const large = path.join(dir, "large.db")
    yield* filledLog(small, 10_000)
    yield* filledLog(large, events)
    const best = { small: 0, large: 0 }
    for (let round = 0; round < 2; round++) {
      const first = round * jobs
      best.small = Math.max(best.small, yield* jobsPerSecond(SqliteEventLog.layer({ filename: small }), jobs, first))
      best.large = Math.max(best.large, yield* jobsPerSecond(SqliteEventLog.layer({ filename: large }), jobs, first))
    }
    return best
  })

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
    const hours = Number(args[1] ?? 247_500)
    const logEvents = Number(args[2] ?? 1_000_000)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-bench-"))
    const [, rawMs] = yield* timed(
      Effect.forEach(Array.from({ length: jobs }), () => Effect.succeed({}), { concurrency: 16, discard: true })
    )
    const raw = (jobs / rawMs) * 1000
    yield* jobsPerSecond(InMemoryEventLog.layer, jobs)
    const memory = yield* jobsPerSecond(InMemoryEventLog.layer, jobs)
    const counted = Effect.all([Metric.value(SqliteEventLog.statements), Metric.value(SqliteEventLog.commits)])
    const [statementsBefore, commitsBefore] = yield* counted
    const sqlite = yield* jobsPerSecond(SqliteEventLog.layer({ filename: path.join(dir, "events.db") }), jobs)
    const [statementsAfter, commitsAfter] = yield* counted
    const rawSqlite = rawSqliteJobsPerSecond(path.join(dir, "raw.db"), jobs)
    const bySize = yield* onLogsOfTwoSizes(dir, logEvents, jobs)
    fs.rmSync(dir, { recursive: true, force: true })

    const days = Math.floor(hours / 24)
    const graph = hourlyGraph()
    const requested = Array.from({ length: days }, (_, day) => `daily/day=${day}`)
    const before = heapAfterGc()
    const [planned, planMs] = yield* timed(Effect.sync(() => Plan.plan(graph, requested)))
    const heapMb = Math.max(0, heapAfterGc() - before) / 2 ** 20
    const plan = Either.getOrThrow(planned)
    const partitions = plan.producers.size + plan.sources.size
    const millions =
      partitions >= 1_000_000 ? `${Math.floor(partitions / 1_000_000)}m` : `${Math.round(partitions / 1000)}k`
    yield* report("scheduler", [
      {
        id: "scheduler.memory.c16",
        case: `no-op jobs, in memory, concurrency 16 (${jobs})`,
        unit: "jobs/s",
        value: memory,
        baseline: { name: "Effect.forEach, no log", value: raw },
        higherIsBetter: true
      },
      {
        id: "scheduler.sqlite.c16",
        case: `no-op jobs, SQLite file, concurrency 16 (${jobs})`,
        unit: "jobs/s",
        value: sqlite,
        baseline: { name: "better-sqlite3, 2 autocommit INSERTs per job", value: rawSqlite },
        higherIsBetter: true,
        statementsPerJob: (statementsAfter.count - statementsBefore.count) / jobs,
        commitsPerJob: (commitsAfter.count - commitsBefore.count) / jobs
      },
      {
        id: `scheduler.sqlite.c16.log${logEvents >= 1_000_000 ? `${Math.floor(logEvents / 1_000_000)}m` : `${Math.round(logEvents / 1000)}k`}`,
        case: `the same jobs on a SQLite log already holding ${logEvents} events (best of 2)`,
        unit: "jobs/s",
        value: bySize.large,
        baseline: { name: "the same on a log of 10,000 events (best of 2)", value: bySize.small },
        higherIsBetter: true
      },
      {
        id: `plan.${millions}`,
        case: `analyse + plan ${partitions} partitions (${plan.runs.size} runs)`,
        unit: "ms",
        value: planMs,
        higherIsBetter: false
      },
      {
        id: `plan.${millions}.heap`,
        case: "heap held by that plan, after a forced GC",
        unit: "MiB",
        value: heapMb,
        higherIsBetter: false
      }
    ])
  })

export default bench
