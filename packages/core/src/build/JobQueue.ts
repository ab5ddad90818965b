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

export interface QueuedRun {
  readonly buildRequestId: string
  /** The run's key in its build's plan (`<job>:<first output>`). */
  readonly key: string
  readonly jobName: string
  readonly outputs: ReadonlyArray<PartitionRef>
  readonly inputs: ReadonlyArray<PartitionRef>
  readonly args: { readonly [key: string]: Json }
  /** Keys of the runs of the same build that must finish first. */
  readonly dependsOn: ReadonlyArray<string>
}

export interface ClaimedRun extends QueuedRun {
  /** When an upstream run failed, this run is not executed: its outputs fail with this cause. */
  readonly upstreamFailed?: { readonly ref: string; readonly reason: string } | undefined
}

export type RunResult =
  | { readonly _tag: "Available" }
  | { readonly _tag: "Failed"; readonly ref: string; readonly reason: string }

export interface Finished {
  /** Runs of the build not finished yet; 0 means this finish completed the build. */
  readonly remaining: number
  /** Every failed run of the build so far. */
  readonly failures: ReadonlyArray<{ readonly key: string; readonly ref: string; readonly reason: string }>
}

export interface JobQueueShape {
  /** Adds a build's runs; runs already queued for the build are left as they are. */
  readonly enqueue: (runs: ReadonlyArray<QueuedRun>) => Effect.Effect<void, StoreError>
  /**
   * Claims up to `max` runnable runs for `worker` under a lease of `leaseMs`: runs whose
   * dependencies have finished, and runs whose worker's lease ran out (a dead worker's). Workers
   * never wait on each other's claims.
   */
  readonly claim: (worker: string, max: number, leaseMs: number) => Effect.Effect<ReadonlyArray<ClaimedRun>, StoreError>
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
  /** Gives runs back unfinished (a worker shutting down), runnable again at once. */
  readonly release: (
    worker: string,
    runs: ReadonlyArray<{ readonly buildRequestId: string; readonly key: string }>
  ) => Effect.Effect<void, StoreError>
  /** Signals that runs may have become runnable; the worker polls as well, so a missed one only delays. */
  readonly wakeups: Stream.Stream<void, StoreError>
}

export class JobQueue extends Context.Tag("@tessera/core/JobQueue")<JobQueue, JobQueueShape>() {}
