/**
 * Event constructors for this package's tests: a job run that claims one partition, builds it and
 * completes, plus a plain note. Ids and timestamps are filled in.
 */
import { BuildEvent, EventId, PartitionRef } from "@tessera/core"

const stamp = (build: string) => {
  const timestamp = Date.now()
  return { eventId: EventId.unsafeMake(timestamp), timestamp, buildRequestId: build }
}

/** A lease that stays live for the whole test run. */
export const liveLease = () => Date.now() + 3_600_000

export interface RunSpec {
  readonly run: string
  readonly build: string
  readonly ref: string
  readonly lease: number
}

const jobRun = (spec: RunSpec, status: "SCHEDULED" | "RUNNING" | "COMPLETED") =>
  new BuildEvent.JobRunStatusChanged({
    ...stamp(spec.build),
    jobRunId: spec.run,
    jobName: "job",
    jobVersion: "1",
    outputs: [PartitionRef.unsafeMake(spec.ref)],
    inputs: [],
    attempt: 1,
    status,
    ...(status === "COMPLETED" ? { manifest: { rows: 1 } } : { leaseExpiresAt: spec.lease })
  })

const partition = (spec: RunSpec, status: "SCHEDULED" | "BUILDING" | "AVAILABLE") =>
  new BuildEvent.PartitionStatusChanged({
    ...stamp(spec.build),
    partitionRef: PartitionRef.unsafeMake(spec.ref),
    status,
    jobRunId: spec.run
  })

export const claim = (spec: RunSpec): Array<BuildEvent.BuildEvent> => [
  jobRun(spec, "SCHEDULED"),
  partition(spec, "SCHEDULED")
]

export const complete = (spec: RunSpec): Array<BuildEvent.BuildEvent> => [
  jobRun(spec, "RUNNING"),
  partition(spec, "BUILDING"),
  jobRun(spec, "COMPLETED"),
  partition(spec, "AVAILABLE")
]

/** An event that changes nothing but the log: a historical delegation note. */
export const note = (ref: string, build: string) =>
  new BuildEvent.Delegated({
    ...stamp(build),
    partitionRef: PartitionRef.unsafeMake(ref),
    toBuildRequestId: "elsewhere",
    mode: "historical"
  })
