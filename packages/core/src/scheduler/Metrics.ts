/**
 * What the scheduler counts, as Effect `Metric`s: the server's `/metrics` and the OTLP exporter
 * report them like any other.
 */
import { Duration, Effect, Metric, MetricBoundaries } from "effect"

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
