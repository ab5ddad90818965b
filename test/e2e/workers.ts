/**
 * Distributed-worker scenarios, written once and run on each store that has a job queue: builds
 * requested with `executor: "workers"` are run by worker fibers that share nothing but the store.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  Builds,
  EventFilter,
  EventLog,
  Graph,
  Job,
  JobQueue,
  Metrics,
  PartitionRef,
  pattern,
  Worker
} from "@tessera/core"
import { Chunk, Effect, Fiber, Layer, Metric, type Scope, Stream } from "effect"
import * as Graphs from "../src/graphs.js"
import * as Invariants from "../src/invariants.js"

const days = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const allEvents = Effect.flatMap(EventLog.EventLog, (log) =>
  Effect.map(Stream.runCollect(log.stream(EventFilter.all)), Chunk.toReadonlyArray)
)

/** No job run was ever RUNNING in two workers at once: a run's RUNNING attempts never overlap a live one. */
const checkLog = Effect.gen(function* () {
  const events = yield* allEvents
  expect(Invariants.overlappingClaims(events)).toEqual([])
  const counts = Invariants.buildsPerPartition(events)
  expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([])
})

export const workerScenarios = (name: string, store: Layer.Layer<EventLog.EventLog | JobQueue.JobQueue, unknown>) =>
  describe(`distributed workers on ${name}`, () => {
    const scenario = <A, E>(
      k: Graphs.Knobs,
      body: Effect.Effect<A, E, Builds.Builds | EventLog.EventLog | JobQueue.JobQueue | Scope.Scope>
    ) =>
      body.pipe(Effect.zipLeft(checkLog), Effect.provide(Layer.provideMerge(Builds.layer(Graphs.salesGraph(k)), store)))

    /** A worker on `graph` with these scenarios' short lease and poll; `options` override them. */
    const startWorker = (graph: Graph.Graph, options: Worker.WorkerOptions) =>
      Effect.forkScoped(Worker.run(graph, { concurrency: 2, leaseMs: 600, pollInterval: "50 millis", ...options }))

    const startWorkers = (k: Graphs.Knobs, n: number) =>
      Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        (i) => startWorker(Graphs.salesGraph(k), { id: `w${i}` })
      )

    it.scopedLive("workers run a whole build; each partition is built once", () => {
      const k = Graphs.knobs()
      return scenario(
        k,
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          for (const d of days(1, 20)) yield* builds.registerSource(`raw/date=${d}`, { checksum: `c${d}` })
          yield* startWorkers(k, 3)
          const refs = days(3, 20).map((d) => `weekly/end=${d}`)
          const handle = yield* builds.request(refs, { executor: "workers" })
          const result = yield* handle.await
          expect(result.status).toBe("COMPLETED")
          expect(result.partitions.every((p) => p.status === "AVAILABLE")).toBe(true)
          expect(Object.fromEntries(k.runs)).toEqual({ clean: 20, daily: 20, weekly: 18 })
          // The requester ran nothing itself; its result counts what the workers ran for it.
          expect(result.built).toBe(58)
          expect(result.delegated).toBe(0)
          // The workers' lease (600 ms) is the lease of the job runs they hold, not the 30 s default.
          const leases = (yield* allEvents).flatMap(({ event }) =>
            event._tag === "JobRunStatusChanged" && event.leaseExpiresAt !== undefined
              ? [event.leaseExpiresAt - event.timestamp]
              : []
          )
          expect(leases.length).toBeGreaterThan(0)
          expect(leases.filter((lease) => lease < 500 || lease > 5_000)).toEqual([])
          // Nothing is left in the queue, and the depth gauge a worker samples says so.
          const queue = yield* JobQueue.JobQueue
          expect(yield* queue.depth).toEqual({ ready: 0, running: 0 })
          yield* Metrics.sampleQueue(queue)
          const ready = yield* Metric.value(Metric.tagged(Metrics.queueDepth, "state", "ready"))
          expect(ready.value).toBe(0)
        })
      )
    })

    it.scopedLive("a run retried by a worker counts once in the result", () => {
      const k = Graphs.knobs()
      k.failures.set("clean", 1)
      return scenario(
        k,
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          for (const d of days(1, 3)) yield* builds.registerSource(`raw/date=${d}`, { checksum: `c${d}` })
          yield* startWorkers(k, 2)
          const result = yield* Effect.flatMap(
            builds.request(["weekly/end=3"], { executor: "workers", retry: { attempts: 2, initialDelayMs: 5 } }),
            (h) => h.await
          )
          expect(result.status).toBe("COMPLETED")
          expect(k.runs.get("clean")).toBe(4)
          expect(result.built).toBe(7)
        })
      )
    })

    it.scopedLive("a worker whose graph has another version of a job leaves its runs to a worker that has it", () => {
      const k = Graphs.knobs()
      const other = Graphs.knobs()
      other.versions.set("daily", "2")
      return scenario(
        k,
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          const log = yield* EventLog.EventLog
          for (const d of days(1, 3)) yield* builds.registerSource(`raw/date=${d}`, { checksum: `c${d}` })
          yield* startWorker(Graphs.salesGraph(other), { id: "other-version", concurrency: 4, versionWaitMs: 60_000 })
          const handle = yield* builds.request(["weekly/end=3"], { executor: "workers" })
          // The other worker builds what its graph has as planned (clean), and nothing of daily.
          yield* log.tail({ kinds: ["PartitionStatusChanged"] }).pipe(
            Stream.filter(
              (e) =>
                e.event._tag === "PartitionStatusChanged" &&
                e.event.status === "AVAILABLE" &&
                e.event.partitionRef === "clean/date=3"
            ),
            Stream.take(1),
            Stream.runDrain
          )
          expect(other.runs.get("daily")).toBeUndefined()
          yield* startWorkers(k, 1)
          const result = yield* handle.await
          expect(result.status).toBe("COMPLETED")
          // weekly is at the planned version in both graphs, so either worker may run it; daily only one.
          expect(other.runs.get("daily")).toBeUndefined()
          expect(k.runs.get("daily")).toBe(3)
          const daily = yield* log.jobRuns({ jobNames: ["daily"], buildRequestIds: [handle.id] })
          expect(daily.items.map((row) => row.jobVersion)).toEqual(["1", "1", "1"])
        })
      )
    })

    it.scopedLive("a run no worker can run as planned fails after the bound, naming both versions", () => {
      const k = Graphs.knobs()
      const other = Graphs.knobs()
      other.versions.set("clean", "2")
      return scenario(
        k,
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          for (const d of days(1, 1)) yield* builds.registerSource(`raw/date=${d}`, { checksum: `c${d}` })
          yield* startWorker(Graphs.salesGraph(other), { id: "other-version", concurrency: 4, versionWaitMs: 300 })
          const result = yield* Effect.flatMap(
            builds.request(["daily/date=1"], { executor: "workers" }),
            (h) => h.await
          )
          expect(result.status).toBe("FAILED")
          expect(result.message).toContain('job clean at version "1"')
          expect(result.message).toContain('job clean at version "2"')
          expect(other.runs.size).toBe(0)
        })
      )
    })

    it.scopedLive("a job that reports missing dependencies under workers gets them built, then succeeds", () => {
      const k = Graphs.knobs()
      let asked = 0
      const needed = PartitionRef.unsafeMake("daily/date=2")
      const report = Job.make({
        name: "report",
        outputs: [pattern("report/date={date}")],
        run: (ctx) =>
          Effect.gen(function* () {
            asked++
            if (!ctx.inputs.includes(needed)) return yield* new Job.MissingDeps({ refs: [needed] })
            return { inputs: ctx.inputs.length }
          })
      })
      const graph = Graph.make([...Graphs.salesGraph(k).jobs, report])
      return Effect.gen(function* () {
        const builds = yield* Builds.Builds
        const log = yield* EventLog.EventLog
        yield* builds.registerSource("raw/date=2", { checksum: "c2" })
        yield* startWorker(graph, { id: "w0", concurrency: 4 })
        const result = yield* Effect.flatMap(builds.request(["report/date=2"], { executor: "workers" }), (h) => h.await)
        expect(result.status).toBe("COMPLETED")
        expect(asked).toBe(2)
        expect(k.runs.get("daily")).toBe(1)
        const runs = yield* log.jobRuns({ buildRequestIds: [result.buildRequestId], statuses: ["COMPLETED"] })
        expect(runs.items.map((row) => row.jobName).sort()).toEqual(["clean", "daily", "report"])
      }).pipe(Effect.zipLeft(checkLog), Effect.provide(Layer.provideMerge(Builds.layer(graph), store)))
    })

    it.scopedLive("a worker that stops mid-build gives its runs back and the others finish them", () => {
      const k = Graphs.knobs()
      k.delays.set("daily", 400)
      return scenario(
        k,
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          const log = yield* EventLog.EventLog
          for (const d of days(1, 6)) yield* builds.registerSource(`raw/date=${d}`, { checksum: `c${d}` })
          const doomed = yield* startWorker(Graphs.salesGraph(k), { id: "doomed", concurrency: 8 })
          const handle = yield* builds.request(["weekly/end=6", "weekly/end=5"], { executor: "workers" })
          yield* log.tail({ kinds: ["PartitionStatusChanged"] }).pipe(
            Stream.filter(
              (e) =>
                e.event._tag === "PartitionStatusChanged" &&
                e.event.status === "BUILDING" &&
                e.event.partitionRef.startsWith("daily/")
            ),
            Stream.take(1),
            Stream.runDrain
          )
          yield* Fiber.interrupt(doomed)
          yield* startWorkers(k, 2)
          const result = yield* handle.await
          expect(result.status).toBe("COMPLETED")
          const cancelled = yield* log.jobRuns({ statuses: ["CANCELLED"] })
          expect(cancelled.items.length).toBeGreaterThan(0)
        })
      )
    })

    it.scopedLive("a build whose last finisher died before recording its end is ended by resume elsewhere", () => {
      const k = Graphs.knobs()
      return scenario(
        k,
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          const queue = yield* JobQueue.JobQueue
          for (const d of days(1, 3)) yield* builds.registerSource(`raw/date=${d}`, { checksum: `c${d}` })
          yield* Effect.flatMap(builds.request(["weekly/end=3"]), (h) => h.await)
          const handle = yield* builds.request(["weekly/end=3"], { executor: "workers" })
          // A worker that finishes every run in the queue and dies before writing the build's end.
          let finished: JobQueue.Finished | undefined
          for (;;) {
            const claimed = yield* queue.claim("ghost", 100, 60_000)
            if (claimed.length === 0 && finished?.remaining === 0) break
            for (const run of claimed) finished = yield* queue.finish("ghost", run, { _tag: "Available" })
            if (claimed.length === 0) yield* Effect.sleep("10 millis")
          }
          expect(yield* queue.progress(handle.id)).toEqual({ remaining: 0, failures: [] })
          // Another process resumes it: the queue says everything finished, so it records the end.
          const elsewhere = yield* Builds.make.pipe(Effect.provideService(Builds.PipelineGraph, Graphs.salesGraph(k)))
          const resumed = yield* Effect.flatMap(elsewhere.resume(handle.id), (h) => h.await)
          expect(resumed.status).toBe("COMPLETED")
          expect((yield* handle.await).status).toBe("COMPLETED")
          expect(yield* queue.progress("never-enqueued")).toBeUndefined()
        })
      )
    })

    it.scopedLive("a failing job fails its downstream and the build, naming the cause", () => {
      const k = Graphs.knobs()
      k.failures.set("clean", Number.POSITIVE_INFINITY)
      return scenario(
        k,
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          for (const d of days(1, 3)) yield* builds.registerSource(`raw/date=${d}`, { checksum: `c${d}` })
          yield* startWorkers(k, 2)
          const result = yield* Effect.flatMap(
            builds.request(["weekly/end=3"], { executor: "workers" }),
            (h) => h.await
          )
          expect(result.status).toBe("FAILED")
          expect(result.message).toContain("clean failed on purpose")
          expect(k.runs.get("daily")).toBeUndefined()
          expect(result.partitions).toEqual([{ ref: "weekly/end=3", status: "UNKNOWN" }])
        })
      )
    })

    it.scopedLive("a workers build is cancelled from anywhere: running jobs stop and nothing else starts", () => {
      const k = Graphs.knobs()
      k.delays.set("clean", 60_000)
      return scenario(
        k,
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          const log = yield* EventLog.EventLog
          for (const d of days(1, 3)) yield* builds.registerSource(`raw/date=${d}`, { checksum: `c${d}` })
          yield* startWorkers(k, 2)
          const handle = yield* builds.request(["weekly/end=3"], { executor: "workers" })
          yield* log.tail({ kinds: ["PartitionStatusChanged"] }).pipe(
            Stream.filter((e) => e.event._tag === "PartitionStatusChanged" && e.event.status === "BUILDING"),
            Stream.take(1),
            Stream.runDrain
          )
          yield* builds.cancel(handle.id)
          const result = yield* handle.await
          expect(result.status).toBe("CANCELLED")
          // Workers learn of the cancellation from the log, as every process does, so on a shared
          // store they stop their runs just after the build is CANCELLED: wait until they have.
          const head = yield* log.head
          yield* Stream.concat(
            Stream.make(undefined),
            log.tail({ kinds: ["JobRunStatusChanged"] }, { after: head })
          ).pipe(
            Stream.mapEffect(() => log.jobRuns({ statuses: ["RUNNING", "SCHEDULED"] })),
            Stream.takeUntil((running) => running.items.length === 0),
            Stream.runDrain
          )
          expect(k.runs.get("daily")).toBeUndefined()
        })
      )
    })
  })
