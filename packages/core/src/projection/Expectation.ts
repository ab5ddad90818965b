/**
 * Conditions on the catalog that an append is conditional on. A store checks them inside the same
 * atomic step as the write; this compare-and-append is what makes delegation correct across
 * processes and machines.
 */
import { Schema } from "effect"
import { CatalogStatus, JobRunStatus } from "../event/Status.js"
import { PartitionRef } from "../partition/PartitionRef.js"

/** No job run other than `except` holds `ref` under a live lease. */
export class Claimable extends Schema.TaggedClass<Claimable>()("Claimable", {
  ref: PartitionRef,
  except: Schema.optional(Schema.String)
}) {}

/** The catalog status of `ref` is one of `statuses` (a partition never seen is UNKNOWN). */
export class PartitionIs extends Schema.TaggedClass<PartitionIs>()("PartitionIs", {
  ref: PartitionRef,
  statuses: Schema.Array(CatalogStatus)
}) {}

/** `ref` is AVAILABLE and has not become AVAILABLE again after `maxSeq` (nobody rebuilt it since). */
export class AvailableAtOrBefore extends Schema.TaggedClass<AvailableAtOrBefore>()("AvailableAtOrBefore", {
  ref: PartitionRef,
  maxSeq: Schema.Number
}) {}

/**
 * The catalog row of `ref` was last changed at `updatedSeq` (0: the catalog has never seen `ref`):
 * nothing happened to the partition since a verdict read it.
 */
export class Unchanged extends Schema.TaggedClass<Unchanged>()("Unchanged", {
  ref: PartitionRef,
  updatedSeq: Schema.Number
}) {}

/** `ref` has not become AVAILABLE after `seq`, whatever its status now (0: it never became AVAILABLE). */
export class NotRebuiltAfter extends Schema.TaggedClass<NotRebuiltAfter>()("NotRebuiltAfter", {
  ref: PartitionRef,
  seq: Schema.Number
}) {}

/** `jobRunId` still holds `ref` under a live lease: nobody took it over. */
export class HeldBy extends Schema.TaggedClass<HeldBy>()("HeldBy", {
  ref: PartitionRef,
  jobRunId: Schema.String
}) {}

/** The job run's status is one of `statuses`; "ABSENT" stands for a job run the log has never seen. */
export class JobRunIs extends Schema.TaggedClass<JobRunIs>()("JobRunIs", {
  jobRunId: Schema.String,
  statuses: Schema.Array(Schema.Union(JobRunStatus, Schema.Literal("ABSENT")))
}) {}

export const Expectation = Schema.Union(
  Claimable,
  PartitionIs,
  AvailableAtOrBefore,
  HeldBy,
  JobRunIs,
  Unchanged,
  NotRebuiltAfter
)
export type Expectation = typeof Expectation.Type
