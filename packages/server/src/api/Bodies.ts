/**
 * The request and response bodies of the API. Rows are core's views as stores return them; what the
 * API adds is each build's own view of its partitions and the attempts of its job runs.
 */
import { HttpApiSchema } from "@effect/platform"
import { BuildEvent, Manifest, Status, Views } from "@tessera/core"
import { Schema } from "effect"

const Whole = (what: string, minimum: number) =>
  Schema.Number.pipe(
    Schema.int({ message: () => `${what} must be a whole number` }),
    Schema.greaterThanOrEqualTo(minimum, { message: () => `${what} must be ${minimum} or more` })
  )

export const CreateBuild = Schema.Struct({
  /**
   * Partitions to build; each is checked against the ref rules, and a bad one is named with its rule. A
   * selection (`daily/date=2026-01-01..2026-03-31`, `color=*`) is expanded over its job's dimensions, up to
   * 10,000 partitions per build.
   */
  refs: Schema.NonEmptyArray(Schema.String),
  /** The build's id: the same id again is the same build. */
  id: Schema.optional(Schema.String),
  concurrency: Schema.optional(Whole("concurrency", 1)),
  retries: Schema.optional(Whole("retries", 0)),
  leaseMs: Schema.optional(Whole("leaseMs", 1)),
  executor: Schema.optional(Schema.Literal("local", "workers")),
  dryRun: Schema.optional(Schema.Boolean),
  /** Receives a signed POST for each status change of the build and each terminal status of its partitions. */
  callbackUrl: Schema.optional(Schema.String)
}).annotations({ identifier: "CreateBuild" })
export type CreateBuild = typeof CreateBuild.Type

export const UpdateBuild = Schema.Struct({ status: Schema.Literal("CANCELLED") }).annotations({
  identifier: "UpdateBuild"
})

export const ResumeBuild = Schema.Struct({
  concurrency: Schema.optional(Whole("concurrency", 1)),
  leaseMs: Schema.optional(Whole("leaseMs", 1))
}).annotations({ identifier: "ResumeBuild" })

/** One attempt of a job run: from its RUNNING to its end (absent while it runs). */
export const Attempt = Schema.Struct({
  attempt: Schema.Number,
  status: Status.JobRunStatus,
  startedAt: Schema.optional(BuildEvent.Millis),
  endedAt: Schema.optional(BuildEvent.Millis),
  message: Schema.optional(Schema.String)
}).annotations({ identifier: "Attempt" })
export type Attempt = typeof Attempt.Type

export const BuildJobRun = Schema.Struct({
  ...Views.JobRunRow.fields,
  attempts: Schema.Array(Attempt)
}).annotations({ identifier: "BuildJobRun" })
export type BuildJobRun = typeof BuildJobRun.Type

/** A partition as one build sees it: REQUESTED, DELEGATED to another build, BUILDING here, ... */
export const BuildPartition = Schema.Struct({
  ref: Schema.String,
  status: Status.PartitionStatus,
  requested: Schema.Boolean,
  delegatedTo: Schema.optional(
    Schema.Struct({
      buildRequestId: Schema.String,
      jobRunId: Schema.optional(Schema.String),
      mode: Status.DelegationMode
    })
  )
}).annotations({ identifier: "BuildPartition" })
export type BuildPartition = typeof BuildPartition.Type

export const Build = Schema.Struct({
  build: Views.BuildRequestRow,
  partitions: Schema.Array(BuildPartition),
  jobRuns: Schema.Array(BuildJobRun),
  /**
   * True when the build's events were compacted out of the log (`tessera compact`): its partitions
   * are then its requested refs with their catalog status, and each job run has its last attempt
   * alone, from the views.
   */
  eventsCompacted: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "Build" })
export type Build = typeof Build.Type

export const PlannedPartition = Schema.Struct({
  ref: Schema.String,
  job: Schema.String,
  decision: Schema.Literal("build", "reuse", "delegate", "stale"),
  reason: Schema.String
}).annotations({ identifier: "PlannedPartition" })

/** What a request would do, recorded and run nowhere. */
export const DryRunPlan = Schema.Struct({
  dryRun: Schema.Literal(true),
  partitions: Schema.Array(PlannedPartition),
  sources: Schema.Array(Schema.Struct({ ref: Schema.String, available: Schema.Boolean })),
  runs: Schema.Number
}).annotations({ identifier: "DryRunPlan" })
export type DryRunPlan = typeof DryRunPlan.Type

const Limit = Schema.NumberFromString.pipe(
  Schema.int({ message: () => "limit must be a whole number" }),
  Schema.between(1, 10_000, { message: () => "limit must be between 1 and 10000" })
)

export const BuildsQuery = Schema.Struct({
  status: Schema.optional(Status.BuildRequestStatus),
  after: Schema.optional(Schema.String),
  limit: Schema.optional(Limit)
})

export const BuildPage = Schema.Struct({
  builds: Schema.Array(Views.BuildRequestRow),
  next: Schema.optional(Schema.String)
}).annotations({ identifier: "BuildPage" })

export const PartitionsQuery = Schema.Struct({
  prefix: Schema.optional(Schema.String),
  status: Schema.optional(Status.CatalogStatus),
  after: Schema.optional(Schema.String),
  limit: Schema.optional(Limit)
})

export const PartitionPage = Schema.Struct({
  partitions: Schema.Array(Views.PartitionRow),
  next: Schema.optional(Schema.String)
}).annotations({ identifier: "PartitionPage" })

/** Whether the next build that needs the partition would rebuild it, and why: the dry run's judgement. */
export const Freshness = Schema.Struct({
  stale: Schema.Boolean,
  decision: Schema.Literal("build", "reuse", "delegate", "stale", "source"),
  reason: Schema.String
}).annotations({ identifier: "Freshness" })
export type Freshness = typeof Freshness.Type

export const PartitionDetail = Schema.Struct({
  partition: Views.PartitionRow,
  /** Absent when the server has no graph, or the graph cannot be planned for this ref. */
  freshness: Schema.optional(Freshness),
  /** The job that produces it in the server's graph; absent for a source partition. */
  job: Schema.optional(Schema.String),
  /** What its last producing job run read. */
  inputs: Schema.Array(Schema.String),
  /** Every job run that claimed or built it, oldest first. */
  jobRuns: Schema.Array(Views.JobRunRow)
}).annotations({ identifier: "PartitionDetail" })
export type PartitionDetail = typeof PartitionDetail.Type

export const Dependents = Schema.Struct({
  ref: Schema.String,
  /** Partitions built by a completed job run that read this one. */
  dependents: Schema.Array(Schema.String)
}).annotations({ identifier: "Dependents" })

export const Invalidated = Schema.Struct({ invalidated: Schema.Array(Schema.String) }).annotations({
  identifier: "Invalidated"
})

export const RegisterSource = Schema.Struct({
  ref: Schema.String,
  manifest: Manifest.Manifest
}).annotations({ identifier: "RegisterSource" })

export const Registered = Schema.Struct({ ref: Schema.String, registered: Schema.Boolean }).annotations({
  identifier: "Registered"
})

export const Kind = Schema.Literal(...BuildEvent.kinds)

export const EventsQuery = Schema.Struct({
  after: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative({ message: () => "after must be a seq, 0 or more" }))
  ),
  limit: Schema.optional(Limit),
  build: Schema.optional(Schema.String),
  ref: Schema.optional(Schema.String),
  kind: Schema.optional(Kind)
})
export type EventsQuery = typeof EventsQuery.Type

export const LoggedEvent = Schema.Struct({
  seq: Schema.Number,
  appendedAt: Schema.Number,
  event: BuildEvent.BuildEvent
}).annotations({ identifier: "LoggedEvent" })

export const EventPage = Schema.Struct({
  events: Schema.Array(LoggedEvent),
  next: Schema.optional(Schema.Number)
}).annotations({ identifier: "EventPage" })

export const GraphBody = Schema.Struct({
  jobs: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      version: Schema.String,
      outputs: Schema.Array(Schema.String),
      upstream: Schema.Array(Schema.String),
      sources: Schema.Array(Schema.String)
    })
  ),
  /** from → to: a job or a source dataset read by a job. */
  edges: Schema.Array(Schema.Struct({ from: Schema.String, to: Schema.String, kind: Schema.Literal("job", "source") }))
}).annotations({ identifier: "Graph" })

export const Health = Schema.Struct({ status: Schema.Literal("ok") })
export const Ready = Schema.Struct({ status: Schema.Literal("ready"), store: Schema.String, head: Schema.Number })

/** The `Last-Event-ID` a reconnecting EventSource sends: the seq of the last event it received. */
export const StreamHeaders = Schema.Struct({
  "last-event-id": Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative()))
})

/** A server-sent event stream: `id` is each event's seq, `event` its kind, `data` the LoggedEvent as JSON. */
export const EventStream = HttpApiSchema.Text({ contentType: "text/event-stream" })

/** Prometheus text exposition format. */
export const MetricsText = HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" })
