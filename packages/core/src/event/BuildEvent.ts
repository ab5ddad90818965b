/**
 * The build event log's vocabulary: every fact Tessera records. Stores add `seq`, the event's
 * gap-free position in the log (see `LoggedEvent`).
 */
import { Schema } from "effect"
import { Manifest } from "../job/Manifest.js"
import { PartitionRef } from "../partition/PartitionRef.js"
import { EventId } from "./EventId.js"
import {
  BuildRequestSource,
  BuildRequestStatus,
  DelegationMode,
  InvalidationReason,
  JobRunStatus,
  PartitionStatus
} from "./Status.js"

export const Millis = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

const common = {
  eventId: EventId,
  /** ms since the epoch */
  timestamp: Millis,
  buildRequestId: Schema.NonEmptyString
}

export const RetryPolicy = Schema.Struct({
  attempts: Schema.Number.pipe(Schema.int(), Schema.positive()),
  initialDelayMs: Schema.optional(Millis),
  maxDelayMs: Schema.optional(Millis),
  // Finite: JSON has no Infinity, so a log holding one could not be read back.
  factor: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.greaterThanOrEqualTo(1)))
})
export type RetryPolicy = typeof RetryPolicy.Type

export const BuildOptions = Schema.Struct({
  concurrency: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  retry: Schema.optional(RetryPolicy),
  leaseMs: Schema.optional(Millis),
  dryRun: Schema.optional(Schema.Boolean),
  executor: Schema.optional(Schema.Literal("local", "workers"))
})
export type BuildOptions = typeof BuildOptions.Type

export class BuildRequestReceived extends Schema.TaggedClass<BuildRequestReceived>()("BuildRequestReceived", {
  ...common,
  requestedRefs: Schema.Array(PartitionRef),
  source: BuildRequestSource,
  options: BuildOptions
}) {}

export class BuildRequestStatusChanged extends Schema.TaggedClass<BuildRequestStatusChanged>()(
  "BuildRequestStatusChanged",
  {
    ...common,
    status: BuildRequestStatus,
    message: Schema.optional(Schema.String)
  }
) {}

export class PartitionStatusChanged extends Schema.TaggedClass<PartitionStatusChanged>()("PartitionStatusChanged", {
  ...common,
  partitionRef: PartitionRef,
  status: PartitionStatus,
  jobRunId: Schema.optional(Schema.NonEmptyString),
  message: Schema.optional(Schema.String)
}) {}

export class JobRunStatusChanged extends Schema.TaggedClass<JobRunStatusChanged>()("JobRunStatusChanged", {
  ...common,
  jobRunId: Schema.NonEmptyString,
  jobName: Schema.NonEmptyString,
  jobVersion: Schema.String,
  outputs: Schema.Array(PartitionRef),
  inputs: Schema.Array(PartitionRef),
  attempt: Schema.Number.pipe(Schema.int(), Schema.positive()),
  status: JobRunStatus,
  message: Schema.optional(Schema.String),
  /** Present on COMPLETED. */
  manifest: Schema.optional(Manifest),
  /** The lease a SCHEDULED or RUNNING run holds on its outputs until a heartbeat extends it. */
  leaseExpiresAt: Schema.optional(Millis)
}) {}

export class JobRunHeartbeat extends Schema.TaggedClass<JobRunHeartbeat>()("JobRunHeartbeat", {
  ...common,
  jobRunId: Schema.NonEmptyString,
  leaseExpiresAt: Millis
}) {}

export class Delegated extends Schema.TaggedClass<Delegated>()("Delegated", {
  ...common,
  partitionRef: PartitionRef,
  toBuildRequestId: Schema.NonEmptyString,
  toJobRunId: Schema.optional(Schema.NonEmptyString),
  mode: DelegationMode
}) {}

export class PartitionInvalidated extends Schema.TaggedClass<PartitionInvalidated>()("PartitionInvalidated", {
  ...common,
  partitionRef: PartitionRef,
  reason: InvalidationReason,
  message: Schema.optional(Schema.String)
}) {}

export class SourcePartitionRegistered extends Schema.TaggedClass<SourcePartitionRegistered>()(
  "SourcePartitionRegistered",
  {
    ...common,
    partitionRef: PartitionRef,
    manifest: Manifest
  }
) {}

export const BuildEvent = Schema.Union(
  BuildRequestReceived,
  BuildRequestStatusChanged,
  PartitionStatusChanged,
  JobRunStatusChanged,
  JobRunHeartbeat,
  Delegated,
  PartitionInvalidated,
  SourcePartitionRegistered
)
export type BuildEvent = typeof BuildEvent.Type
export type Kind = BuildEvent["_tag"]

export const kinds: ReadonlyArray<Kind> = [
  "BuildRequestReceived",
  "BuildRequestStatusChanged",
  "PartitionStatusChanged",
  "JobRunStatusChanged",
  "JobRunHeartbeat",
  "Delegated",
  "PartitionInvalidated",
  "SourcePartitionRegistered"
]

/** An event as a store holds it: with its position in the log and when the store appended it. */
export interface LoggedEvent {
  readonly seq: number
  readonly event: BuildEvent
  /**
   * When the store appended the event's batch, in ms by the store's clock (PostgreSQL's; the
   * appending process's for SQLite and Delta): the time every lease of that append was judged at.
   */
  readonly appendedAt: number
}

/** The one partition an event is about, if it is about one; stores index events by it. */
export const partitionRefOf = (event: BuildEvent): PartitionRef | undefined => {
  switch (event._tag) {
    case "PartitionStatusChanged":
    case "Delegated":
    case "PartitionInvalidated":
    case "SourcePartitionRegistered":
      return event.partitionRef
    default:
      return undefined
  }
}

/** The job run an event is about, if any; stores index events by it. */
export const jobRunIdOf = (event: BuildEvent): string | undefined => {
  switch (event._tag) {
    case "JobRunStatusChanged":
    case "JobRunHeartbeat":
      return event.jobRunId
    case "PartitionStatusChanged":
      return event.jobRunId
    case "Delegated":
      return event.toJobRunId
    default:
      return undefined
  }
}
