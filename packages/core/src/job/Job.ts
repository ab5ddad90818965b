/**
 * A job produces partitions. `config` groups requested outputs into job runs and names each run's
 * inputs; `run` does the work and returns a manifest of what it wrote.
 */
import { Effect, Predicate, Schema } from "effect"
import type { RetryPolicy } from "../event/BuildEvent.js"
import * as Identifier from "../event/Identifier.js"
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

/**
 * What a job's `run` returns: an Effect, or a Promise (an `async` function), of the manifest. The
 * manifest must be a plain JSON object; anything else fails the run with a message saying why.
 */
export type RunResult = Effect.Effect<Manifest, unknown> | PromiseLike<Manifest>

export interface Job {
  readonly name: string
  /** The job's code version: when it changes, the partitions it made become stale. */
  readonly version: string
  readonly outputs: ReadonlyArray<PartitionPattern>
  readonly config: (requested: ReadonlyArray<PartitionRef>) => ReadonlyArray<JobConfig>
  readonly run: (context: JobContext) => RunResult
  /** Overrides the build request's retry policy for this job's runs. */
  readonly retry?: RetryPolicy | undefined
}

export interface JobOptions {
  readonly name: string
  readonly version?: string | undefined
  readonly outputs: ReadonlyArray<PartitionPattern>
  /** Defaults to one run per requested partition, with no inputs. */
  readonly config?: ((requested: ReadonlyArray<PartitionRef>) => ReadonlyArray<JobConfig>) | undefined
  readonly run: (context: JobContext) => RunResult
  readonly retry?: RetryPolicy | undefined
}

/** Makes a job; throws `InvalidIdentifier` for a name no store could key its runs by. */
export const make = (options: JobOptions): Job => {
  const wrong = typeof options.name === "string" ? Identifier.problem(options.name) : "it is not a string"
  if (wrong !== undefined) {
    throw new Identifier.InvalidIdentifier({ kind: "job name", value: String(options.name), reason: wrong })
  }
  return {
    name: options.name,
    version: options.version ?? "1",
    outputs: options.outputs,
    config: options.config ?? ((requested) => requested.map((ref) => ({ outputs: [ref], inputs: [] }))),
    run: options.run,
    ...(options.retry === undefined ? {} : { retry: options.retry })
  }
}

/** Whether one of the job's output patterns matches `ref`. */
export const produces = (job: Job, ref: string): boolean => job.outputs.some((output) => output.matches(ref))

/**
 * Runs a job's `run` as an Effect, whatever the user's function does: a synchronous throw is a
 * defect, a rejected Promise is the job's failure, and a value that is neither an Effect nor a
 * Promise (JavaScript code is not type-checked) fails with a `JobError` saying what it was.
 */
export const invoke = (job: Job, context: JobContext): Effect.Effect<unknown, unknown> =>
  Effect.suspend(() => {
    const result: unknown = job.run(context)
    // The type says it needs no context; a JavaScript job that does fails as a defect, caught as a crash.
    if (Effect.isEffect(result)) return result as Effect.Effect<unknown, unknown>
    if (Predicate.isPromiseLike(result)) {
      return Effect.async<unknown, unknown>((resume) => {
        result.then(
          (value) => resume(Effect.succeed(value)),
          (error: unknown) => resume(Effect.fail(error))
        )
      })
    }
    return Effect.fail(
      new JobError({
        message:
          `job ${job.name}: run returned ${result === null ? "null" : typeof result}, not an Effect or a Promise ` +
          "of a manifest: return Effect.succeed({ ... }), or make run async"
      })
    )
  })
