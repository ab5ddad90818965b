import { Schema } from "effect"

export const PartitionStatus = Schema.Literal(
  "UNKNOWN",
  "REQUESTED",
  "SCHEDULED",
  "BUILDING",
  "AVAILABLE",
  "FAILED",
  "STALE",
  "DELEGATED"
)
export type PartitionStatus = typeof PartitionStatus.Type

/** The catalog never shows DELEGATED or REQUESTED: those are one build request's view of a partition. */
export const CatalogStatus = Schema.Literal("UNKNOWN", "SCHEDULED", "BUILDING", "AVAILABLE", "FAILED", "STALE")
export type CatalogStatus = typeof CatalogStatus.Type

export const JobRunStatus = Schema.Literal("SCHEDULED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "SKIPPED")
export type JobRunStatus = typeof JobRunStatus.Type

export const BuildRequestStatus = Schema.Literal(
  "RECEIVED",
  "PLANNING",
  "ANALYSIS_COMPLETED",
  "EXECUTING",
  "COMPLETED",
  "FAILED",
  "CANCELLED"
)
export type BuildRequestStatus = typeof BuildRequestStatus.Type

export const BuildRequestSource = Schema.Literal("cli", "api", "sensor", "schedule", "user")
export type BuildRequestSource = typeof BuildRequestSource.Type

export const DelegationMode = Schema.Literal("active", "historical")
export type DelegationMode = typeof DelegationMode.Type

export const InvalidationReason = Schema.Literal("upstream-rebuilt", "job-version-changed", "manual")
export type InvalidationReason = typeof InvalidationReason.Type

/** Job run statuses after which the run never changes again. */
export const isFinalJobRunStatus = (status: JobRunStatus): boolean =>
  status === "COMPLETED" || status === "CANCELLED" || status === "SKIPPED"

export const isTerminalBuildStatus = (status: BuildRequestStatus): boolean =>
  status === "COMPLETED" || status === "FAILED" || status === "CANCELLED"
