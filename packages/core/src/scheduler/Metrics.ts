/**
 * What the scheduler counts, as Effect `Metric`s: the server's `/metrics` and the OTLP exporter
 * report them like any other.
 */
import { Duration, Effect, Metric, MetricBoundaries, MetricKey, MetricLabel } from "effect"
import type { JobQueueShape } from "./JobQueue.js"

/** Job executions by job and outcome (`Success`, `Failure`, `Missing`): one per attempt. */
const jobRunsKey = MetricKey.counter("tessera_job_executions", {
  description: "job executions (attempts) this process ran, by job and outcome",
  incremental: true
})

/** How long job executions took, by job. */
const jobDurationKey = MetricKey.histogram(
  "tessera_job_execution_ms",
  MetricBoundaries.exponential({ start: 1, factor: 4, count: 12 }),
  "how long job executions (attempts) took, in milliseconds"
)

/**
 * A job's metrics, each keyed with its tags once: `Metric.tagged` makes a new key at every update,
 * which the registry then hashes and looks up, a large share of a no-op job's cost.
 */
interface JobMetrics {
  readonly duration: Metric.Metric.Histogram<number>
  readonly outcomes: Map<string, Metric.Metric.Counter<number>>
}

const byJob = new Map<string, JobMetrics>()

const metricsOf = (job: string): JobMetrics => {
  let metrics = byJob.get(job)
  if (metrics === undefined) {
    metrics = {
      duration: Metric.fromMetricKey(MetricKey.taggedWithLabels(jobDurationKey, [MetricLabel.make("job", job)])),
      outcomes: new Map()
    }
    byJob.set(job, metrics)
  }
  return metrics
}

const outcomeOf = (metrics: JobMetrics, job: string, outcome: string) => {
  let counter = metrics.outcomes.get(outcome)
  if (counter === undefined) {
    counter = Metric.fromMetricKey(
      MetricKey.taggedWithLabels(jobRunsKey, [MetricLabel.make("job", job), MetricLabel.make("outcome", outcome)])
    )
    metrics.outcomes.set(outcome, counter)
  }
  return counter
}

/** Counts and times one execution of `job`'s code. */
export const timedJob =
  (job: string) =>
  <A extends { readonly _tag: string }, E, R>(execution: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const [took, outcome] = yield* Effect.timed(execution)
      const metrics = metricsOf(job)
      yield* Metric.update(metrics.duration, Duration.toMillis(took))
      yield* Metric.increment(outcomeOf(metrics, job, outcome._tag))
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
