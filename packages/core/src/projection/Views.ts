/**
 * The three views the projection derives from the log. Stores keep them as tables (or maps) and
 * return exactly these rows.
 */
import { Schema } from "effect"
import { BuildOptions, Millis } from "../event/BuildEvent.js"
import { BuildRequestSource, BuildRequestStatus, CatalogStatus, JobRunStatus } from "../event/Status.js"
import { Manifest } from "../job/Manifest.js"
import { PartitionRef } from "../partition/PartitionRef.js"

export const Seq = Schema.Number.pipe(Schema.int(), Schema.positive())

/** One partition in the catalog: its status across every build. */
export const PartitionRow = Schema.Struct({
  ref: PartitionRef,
  status: CatalogStatus,
  /** The job run that holds (SCHEDULED, BUILDING) or last produced the partition. */
  jobRunId: Schema.optional(Schema.String),
  buildRequestId: Schema.optional(Schema.String),
  /** Until when the holding job run's claim is live; absent once nothing holds it. */
  leaseExpiresAt: Schema.optional(Millis),
  /** The seq of the event that last made it AVAILABLE: downstream partitions built before it are stale. */
  lastAvailableSeq: Schema.optional(Seq),
  /** The producing job's code version when it became AVAILABLE. */
  jobVersion: Schema.optional(Schema.String),
  manifest: Schema.optional(Manifest),
  message: Schema.optional(Schema.String),
  updatedSeq: Seq,
  updatedAt: Millis
}).annotations({ identifier: "PartitionRow" })
export type PartitionRow = typeof PartitionRow.Type

export const JobRunRow = Schema.Struct({
  jobRunId: Schema.String,
  buildRequestId: Schema.String,
  jobName: Schema.String,
  jobVersion: Schema.String,
  outputs: Schema.Array(PartitionRef),
  inputs: Schema.Array(PartitionRef),
  attempt: Schema.Number,
  status: JobRunStatus,
  message: Schema.optional(Schema.String),
  manifest: Schema.optional(Manifest),
  leaseExpiresAt: Schema.optional(Millis),
  createdAt: Millis,
  updatedSeq: Seq,
  updatedAt: Millis
}).annotations({ identifier: "JobRunRow" })
export type JobRunRow = typeof JobRunRow.Type

export const BuildRequestRow = Schema.Struct({
  buildRequestId: Schema.String,
  requestedRefs: Schema.Array(PartitionRef),
  source: BuildRequestSource,
  options: BuildOptions,
  status: BuildRequestStatus,
  message: Schema.optional(Schema.String),
  receivedAt: Millis,
  updatedSeq: Seq,
  updatedAt: Millis
}).annotations({ identifier: "BuildRequestRow" })
export type BuildRequestRow = typeof BuildRequestRow.Type

/**
 * A view row as the SQL stores keep it, as JSON text. The rows are plain JSON values (no field
 * transforms), so a row's own fields are its encoding; running the schema's encoder would only check
 * again what the reducer built.
 */
export const encode = (row: PartitionRow | JobRunRow | BuildRequestRow): string => JSON.stringify(row)

/** Whether a job run's claim on the partition is live at `now`: SCHEDULED or BUILDING under an unexpired lease. */
export const isLiveClaim = (row: PartitionRow | undefined, now: number): boolean =>
  row !== undefined &&
  (row.status === "SCHEDULED" || row.status === "BUILDING") &&
  row.leaseExpiresAt !== undefined &&
  row.leaseExpiresAt > now
