/**
 * The port distributed workers claim job runs through. A build requested with
 * `executor: "workers"` is analysed by the requester and enqueued whole; workers on any machine
 * claim runnable runs, settle them exactly as the local executor does (through conditional
 * appends to the event log), and finishing a run makes its dependents runnable. The queue is only
 * a work list: the event log stays the source of truth for what was built.
 */
import { Context, type Effect, type Stream } from "effect"
import type { Json } from "../job/Manifest.js"
import type { StoreError } from "../log/EventLog.js"
import type { PartitionRef } from "../partition/PartitionRef.js"
import type { JobRunRow, PartitionRow } from "../projection/Views.js"

export interface QueuedRun {
  readonly buildRequestId: string
  /** The run's key in its build's plan (`<job>:<first output>`). */
  readonly key: string
  readonly jobName: string
  /**
   * The job's version in the requester's graph, as it planned the run; only a worker whose graph has
   * this version runs it. Absent on runs queued before versions were recorded, which any worker runs.
   */
  readonly jobVersion?: string | undefined
  readonly outputs: ReadonlyArray<PartitionRef>
  readonly inputs: ReadonlyArray<PartitionRef>
  readonly args: { readonly [key: string]: Json }
  /** Keys of the runs of the same build that must finish first. */
  readonly dependsOn: ReadonlyArray<string>
}

export interface ClaimedRun extends QueuedRun {
  /** When an upstream run failed, this run is not executed: its outputs fail with this cause. */
  readonly upstreamFailed?: { readonly ref: string; readonly reason: string } | undefined
  /**
   * What a queue that shares the log's database read of the log in the claim's own statement: the
   * catalog rows of the run's outputs and inputs, and the run's job runs (`jobRunIdsOf`). A worker
   * judges from them instead of reading them again; its claim on the outputs is conditional on the
   * rows it judged, so rows that changed since are refused and judged afresh. Absent, the worker
   * reads them from the log.
   */
  readonly read?:
    | { readonly catalog: ReadonlyArray<PartitionRow>; readonly jobRuns: ReadonlyArray<JobRunRow> }
    | undefined
}

/**
 * How the ids of a run's job runs end: `<build>:<key>` is its first, and a run settled again after
 * that one ended (a resumed build whose run was cancelled, or built but is stale now) continues as
 * `#2`, `#3`…; a worker looks for ten.
 */
export const JOB_RUN_ID_SUFFIXES: ReadonlyArray<string> = ["", ...Array.from({ length: 9 }, (_, i) => `#${i + 2}`)]

/** The ids the job runs of `run` may have in the log. */
export const jobRunIdsOf = (run: { readonly buildRequestId: string; readonly key: string }): Array<string> =>
  JOB_RUN_ID_SUFFIXES.map((suffix) => `${run.buildRequestId}:${run.key}${suffix}`)

export type RunResult =
  | { readonly _tag: "Available" }
  | { readonly _tag: "Failed"; readonly ref: string; readonly reason: string }

export interface Finished {
  /** Runs of the build not finished yet; 0 means this finish completed the build. */
  readonly remaining: number
  /** Every failed run of the build so far. */
  readonly failures: ReadonlyArray<{ readonly key: string; readonly ref: string; readonly reason: string }>
}

/**
 * The jobs a claimer can run: a run is claimed only by a worker whose graph has its job at the
 * version the build planned. A run no such worker claimed within `waitMs` of becoming claimable
 * is claimed by any, which fails it naming both versions, so a build never waits forever for a
 * worker that is not coming.
 */
export interface Claimer {
  /** Each job of the claimer's graph, by name, with its version. */
  readonly jobs: ReadonlyMap<string, string>
  readonly waitMs: number
}

/** Whether a claimer with `jobs` runs `run` as planned. */
export const runsAsPlanned = (jobs: ReadonlyMap<string, string>, run: QueuedRun): boolean =>
  run.jobVersion === undefined ? jobs.has(run.jobName) : jobs.get(run.jobName) === run.jobVersion

export interface QueueDepth {
  readonly ready: number
  readonly running: number
}

export interface JobQueueShape {
  /** Adds a build's runs; runs already queued for the build are left as they are. */
  readonly enqueue: (runs: ReadonlyArray<QueuedRun>) => Effect.Effect<void, StoreError>
  /**
   * Claims up to `max` runnable runs for `worker` under a lease of `leaseMs`: runs whose
   * dependencies have finished, and runs whose worker's lease ran out (a dead worker's). Workers
   * never wait on each other's claims. With a `claimer`, only runs it can run as planned, and
   * the runs nobody could run for longer than its `waitMs`.
   */
  readonly claim: (
    worker: string,
    max: number,
    leaseMs: number,
    claimer?: Claimer
  ) => Effect.Effect<ReadonlyArray<ClaimedRun>, StoreError>
  /** Extends the lease on runs `worker` holds; returns the keys it no longer holds. */
  readonly extend: (
    worker: string,
    runs: ReadonlyArray<{ readonly buildRequestId: string; readonly key: string }>,
    leaseMs: number
  ) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /**
   * Records a run's result: its dependents become runnable (or learn their upstream failed).
   * Refused quietly (`undefined`) when `worker` no longer holds the run.
   */
  readonly finish: (
    worker: string,
    run: { readonly buildRequestId: string; readonly key: string },
    result: RunResult
  ) => Effect.Effect<Finished | undefined, StoreError>
  /**
   * Where a build stands in the queue: its unfinished runs and its failures; none when the build
   * was never enqueued. Lets a resumed build record an end its last finisher did not live to record.
   */
  readonly progress: (buildRequestId: string) => Effect.Effect<Finished | undefined, StoreError>
  /** How many runs could be claimed now (`ready`) and how many are held by a worker (`running`), over all builds. */
  readonly depth: Effect.Effect<QueueDepth, StoreError>
  /** Gives runs back unfinished (a worker shutting down), runnable again at once. */
  readonly release: (
    worker: string,
    runs: ReadonlyArray<{ readonly buildRequestId: string; readonly key: string }>
  ) => Effect.Effect<void, StoreError>
  /** Signals that runs may have become runnable; the worker polls as well, so a missed one only delays. */
  readonly wakeups: Stream.Stream<void, StoreError>
}

export class JobQueue extends Context.Tag("@tessera/core/JobQueue")<JobQueue, JobQueueShape>() {}
