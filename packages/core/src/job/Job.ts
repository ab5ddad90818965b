/**
 * A job produces partitions. `config` groups requested outputs into job runs and names each run's
 * inputs; `run` does the work and returns a manifest of what it wrote.
 */
import { type Effect, Schema } from "effect"
import type { RetryPolicy } from "../event/BuildEvent.js"
import type { PartitionPattern } from "../partition/PartitionPattern.js"
import { PartitionRef } from "../partition/PartitionRef.js"
import type { Json, Manifest } from "./Manifest.js"

/** One job run as `config` describes it. Refs are validated when the request is analysed. */
export interface JobConfig {
  /** The partitions the run produces; it may produce more than were requested. */
  readonly outputs: ReadonlyArray<string>
  readonly inputs: ReadonlyArray<string>
  readonly args?: { readonly [key: string]: Json } | undefined
}

export interface JobContext {
  readonly jobName: string
  readonly jobRunId: string
  readonly buildRequestId: string
  readonly attempt: number
  readonly outputs: ReadonlyArray<PartitionRef>
  readonly inputs: ReadonlyArray<PartitionRef>
  readonly args: { readonly [key: string]: Json }
  /** What the runs that made each input AVAILABLE wrote (or what its source registration said). */
  readonly inputManifests: ReadonlyMap<PartitionRef, Manifest>
}

/** A run found it needs partitions it did not declare; the scheduler builds them and retries the run. */
export class MissingDeps extends Schema.TaggedError<MissingDeps>()("MissingDeps", {
  refs: Schema.Array(PartitionRef)
}) {
  override get message(): string {
    return `missing dependencies: ${this.refs.join(", ")}`
  }
}

/** A job's own failure, for jobs that have no error type of their own. */
export class JobError extends Schema.TaggedError<JobError>()("JobError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

export interface Job {
  readonly name: string
  /** The job's code version: when it changes, the partitions it made become stale. */
  readonly version: string
  readonly outputs: ReadonlyArray<PartitionPattern>
  readonly config: (requested: ReadonlyArray<PartitionRef>) => ReadonlyArray<JobConfig>
  readonly run: (context: JobContext) => Effect.Effect<Manifest, unknown>
  /** Overrides the build request's retry policy for this job's runs. */
  readonly retry?: RetryPolicy | undefined
}

export interface JobOptions {
  readonly name: string
  readonly version?: string | undefined
  readonly outputs: ReadonlyArray<PartitionPattern>
  /** Defaults to one run per requested partition, with no inputs. */
  readonly config?: ((requested: ReadonlyArray<PartitionRef>) => ReadonlyArray<JobConfig>) | undefined
  readonly run: (context: JobContext) => Effect.Effect<Manifest, unknown>
  readonly retry?: RetryPolicy | undefined
}

export const make = (options: JobOptions): Job => ({
  name: options.name,
  version: options.version ?? "1",
  outputs: options.outputs,
  config: options.config ?? ((requested) => requested.map((ref) => ({ outputs: [ref], inputs: [] }))),
  run: options.run,
  ...(options.retry === undefined ? {} : { retry: options.retry })
})

/** Whether one of the job's output patterns matches `ref`. */
export const produces = (job: Job, ref: string): boolean => job.outputs.some((output) => output.matches(ref))
