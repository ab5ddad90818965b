/**
 * What the scheduler counts, as Effect `Metric`s: the server's `/metrics` and the OTLP exporter
 * report them like any other.
 */
import { Duration, Effect, Metric, MetricBoundaries } from "effect"
import type { JobQueueShape } from "./JobQueue.js"

/** Job executions by job and outcome (`Success`, `Failure`, `Missing`): one per attempt. */
export const jobRuns = Metric.counter("tessera_job_executions", {
  description: "job executions (attempts) this process ran, by job and outcome",
  incremental: true
})

/** How long job executions took, by job. */
export const jobDuration = Metric.histogram(
  "tessera_job_execution_ms",
  MetricBoundaries.exponential({ start: 1, factor: 4, count: 12 }),
  "how long job executions (attempts) took, in milliseconds"
)

/** Counts and times one execution of `job`'s code. */
export const timedJob =
  (job: string) =>
  <A extends { readonly _tag: string }, E, R>(execution: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const [took, outcome] = yield* Effect.timed(execution)
      yield* Metric.update(Metric.tagged(jobDuration, "job", job), Duration.toMillis(took))
      yield* Metric.increment(Metric.tagged(Metric.tagged(jobRuns, "job", job), "outcome", outcome._tag))
      return outcome
    })

/** Runs in the workers' queue by state (`ready`: claimable now, `running`: held by a worker), as last sampled. */
export const queueDepth = Metric.gauge("tessera_queue_depth", {
  description: "job runs in the workers' queue by state (ready, running), over all builds, as a worker last sampled"
})

/** How often a worker samples the queue's depth: one indexed count, whatever the queue's size. */
export const QUEUE_SAMPLE_EVERY = Duration.seconds(10)

/** Sets `tessera_queue_depth` from the queue. */
export const sampleQueue = (queue: JobQueueShape) =>
  Effect.flatMap(queue.depth, ({ ready, running }) =>
    Effect.all([
      Metric.set(Metric.tagged(queueDepth, "state", "ready"), ready),
      Metric.set(Metric.tagged(queueDepth, "state", "running"), running)
    ])
  )
