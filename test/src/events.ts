/**
 * Terse constructors for build events in tests: ids and timestamps are filled in.
 */
import { BuildEvent, EventId, type Manifest, PartitionRef, type Status } from "@tessera/core"

const ref = PartitionRef.unsafeMake
const stamp = () => {
  const timestamp = Date.now()
  return { eventId: EventId.unsafeMake(timestamp), timestamp }
}

export const HOUR = 3_600_000
/** A lease that stays live for the whole test run. */
export const liveLease = () => Date.now() + HOUR
/** A lease that has already run out. */
export const expiredLease = () => Date.now() - HOUR

export const received = (build: string, refs: ReadonlyArray<string> = []) =>
  new BuildEvent.BuildRequestReceived({
    ...stamp(),
    buildRequestId: build,
    requestedRefs: refs.map(ref),
    source: "api",
    options: {}
  })

export const buildStatus = (build: string, status: Status.BuildRequestStatus, message?: string) =>
  new BuildEvent.BuildRequestStatusChanged({
    ...stamp(),
    buildRequestId: build,
    status,
    ...(message === undefined ? {} : { message })
  })

export interface RunSpec {
  readonly run: string
  readonly build: string
  readonly outputs: ReadonlyArray<string>
  readonly inputs?: ReadonlyArray<string>
  readonly job?: string
  readonly version?: string
  readonly attempt?: number
  readonly lease?: number
  readonly manifest?: Manifest.Manifest
  readonly message?: string
}

export const jobRun = (spec: RunSpec, status: Status.JobRunStatus) =>
  new BuildEvent.JobRunStatusChanged({
    ...stamp(),
    buildRequestId: spec.build,
    jobRunId: spec.run,
    jobName: spec.job ?? "job",
    jobVersion: spec.version ?? "1",
    outputs: spec.outputs.map(ref),
    inputs: (spec.inputs ?? []).map(ref),
    attempt: spec.attempt ?? 1,
    status,
    ...(spec.message === undefined ? {} : { message: spec.message }),
    ...(status === "COMPLETED" ? { manifest: spec.manifest ?? { rows: 1 } } : {}),
    ...(spec.lease === undefined || (status !== "SCHEDULED" && status !== "RUNNING")
      ? {}
      : { leaseExpiresAt: spec.lease })
  })

export const partition = (
  partitionRef: string,
  status: Status.PartitionStatus,
  build: string,
  run?: string,
  message?: string
) =>
  new BuildEvent.PartitionStatusChanged({
    ...stamp(),
    buildRequestId: build,
    partitionRef: ref(partitionRef),
    status,
    ...(run === undefined ? {} : { jobRunId: run }),
    ...(message === undefined ? {} : { message })
  })

export const heartbeat = (run: string, build: string, lease: number) =>
  new BuildEvent.JobRunHeartbeat({ ...stamp(), buildRequestId: build, jobRunId: run, leaseExpiresAt: lease })

export const delegated = (
  partitionRef: string,
  build: string,
  to: string,
  mode: Status.DelegationMode,
  toRun?: string
) =>
  new BuildEvent.Delegated({
    ...stamp(),
    buildRequestId: build,
    partitionRef: ref(partitionRef),
    toBuildRequestId: to,
    ...(toRun === undefined ? {} : { toJobRunId: toRun }),
    mode
  })

export const invalidated = (partitionRef: string, build: string, reason: Status.InvalidationReason = "manual") =>
  new BuildEvent.PartitionInvalidated({ ...stamp(), buildRequestId: build, partitionRef: ref(partitionRef), reason })

export const source = (partitionRef: string, build: string, manifest: Manifest.Manifest = { path: "/data" }) =>
  new BuildEvent.SourcePartitionRegistered({
    ...stamp(),
    buildRequestId: build,
    partitionRef: ref(partitionRef),
    manifest
  })

/** The events of a job run that claims its outputs, builds them and completes: what a scheduler writes. */
export const claim = (spec: RunSpec) => [
  jobRun(spec, "SCHEDULED"),
  ...spec.outputs.map((output) => partition(output, "SCHEDULED", spec.build, spec.run))
]

export const complete = (spec: RunSpec) => [
  jobRun(spec, "RUNNING"),
  ...spec.outputs.map((output) => partition(output, "BUILDING", spec.build, spec.run)),
  jobRun(spec, "COMPLETED"),
  ...spec.outputs.map((output) => partition(output, "AVAILABLE", spec.build, spec.run))
]
