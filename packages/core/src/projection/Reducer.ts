/**
 * The one pure reducer from build events to the three views. Every store returns exactly what this
 * reducer returns over its events. It refuses events that would make an impossible history.
 */
import type { Types } from "effect"
import type {
  BuildEvent,
  BuildRequestStatusChanged,
  JobRunHeartbeat,
  JobRunStatusChanged,
  LoggedEvent,
  PartitionInvalidated,
  PartitionStatusChanged,
  SourcePartitionRegistered
} from "../event/BuildEvent.js"
import type { BuildRequestStatus, JobRunStatus } from "../event/Status.js"
import { isFinalJobRunStatus, isTerminalBuildStatus } from "../event/Status.js"
import { InvalidTransition } from "./Errors.js"
import type { BuildRequestRow, JobRunRow, PartitionRow } from "./Views.js"
import { isLiveClaim } from "./Views.js"

/** The rows the reducer reads and writes; a store hands it the rows an event touches. */
export interface State {
  readonly partitions: Map<string, PartitionRow>
  readonly jobRuns: Map<string, JobRunRow>
  readonly buildRequests: Map<string, BuildRequestRow>
}

export const emptyState = (): State => ({ partitions: new Map(), jobRuns: new Map(), buildRequests: new Map() })

const buildRank: Record<BuildRequestStatus, number> = {
  RECEIVED: 0,
  PLANNING: 1,
  ANALYSIS_COMPLETED: 2,
  EXECUTING: 3,
  COMPLETED: 4,
  FAILED: 4,
  CANCELLED: 4
}

/** Same-attempt job run transitions; a higher attempt may restart a run that has not finished. */
const jobRunNext: Record<JobRunStatus, ReadonlyArray<JobRunStatus>> = {
  SCHEDULED: ["RUNNING", "CANCELLED", "SKIPPED", "FAILED"],
  RUNNING: ["COMPLETED", "FAILED", "CANCELLED"],
  FAILED: [],
  COMPLETED: [],
  CANCELLED: [],
  SKIPPED: []
}

/** The keys of the rows `event` reads or writes, known from the event alone. */
export interface Keys {
  readonly refs: Set<string>
  readonly jobRunIds: Set<string>
  readonly buildRequestIds: Set<string>
}

export const emptyKeys = (): Keys => ({ refs: new Set(), jobRunIds: new Set(), buildRequestIds: new Set() })

export const addKeys = (keys: Keys, event: BuildEvent): void => {
  switch (event._tag) {
    case "BuildRequestReceived":
    case "BuildRequestStatusChanged":
      keys.buildRequestIds.add(event.buildRequestId)
      return
    case "JobRunStatusChanged":
      keys.jobRunIds.add(event.jobRunId)
      for (const ref of event.outputs) keys.refs.add(ref)
      return
    case "JobRunHeartbeat":
      // A heartbeat also touches the run's outputs, which only the job run row knows: see `heldOutputs`.
      keys.jobRunIds.add(event.jobRunId)
      return
    case "PartitionStatusChanged":
      keys.refs.add(event.partitionRef)
      if (event.jobRunId !== undefined) keys.jobRunIds.add(event.jobRunId)
      return
    case "PartitionInvalidated":
    case "SourcePartitionRegistered":
      keys.refs.add(event.partitionRef)
      return
    case "Delegated":
      return
  }
}

/**
 * Applies one event to `state` in place. Returns the refusal, if any; `state` may then be partly
 * updated, so callers apply batches to a working copy. With `now`, SCHEDULED over another run's
 * live claim is refused too; replaying a stored log passes no `now`, as it was checked at append.
 */
export const reduce = (state: State, logged: LoggedEvent, now?: number): InvalidTransition | undefined => {
  const { event, seq } = logged
  const refuse = (reason: string) => new InvalidTransition({ event, reason })
  switch (event._tag) {
    case "BuildRequestReceived": {
      if (state.buildRequests.has(event.buildRequestId)) {
        return refuse(`build request ${event.buildRequestId} was already received`)
      }
      state.buildRequests.set(event.buildRequestId, {
        buildRequestId: event.buildRequestId,
        requestedRefs: event.requestedRefs,
        source: event.source,
        options: event.options,
        status: "RECEIVED",
        receivedAt: event.timestamp,
        updatedSeq: seq,
        updatedAt: event.timestamp
      })
      return undefined
    }
    case "BuildRequestStatusChanged":
      return buildRequestStatus(state, event, seq, refuse)
    case "JobRunStatusChanged":
      return jobRunStatus(state, event, seq, refuse)
    case "JobRunHeartbeat":
      return heartbeat(state, event, seq, refuse)
    case "PartitionStatusChanged":
      return partitionStatus(state, event, seq, now, refuse)
    case "PartitionInvalidated":
      return invalidate(state, event, seq, refuse)
    case "SourcePartitionRegistered":
      return registerSource(state, event, seq, refuse)
    case "Delegated":
      return undefined
  }
}

type Refuse = (reason: string) => InvalidTransition

const buildRequestStatus = (state: State, event: BuildRequestStatusChanged, seq: number, refuse: Refuse) => {
  const row = state.buildRequests.get(event.buildRequestId)
  if (row === undefined) return refuse(`unknown build request ${event.buildRequestId}`)
  if (isTerminalBuildStatus(row.status)) return refuse(`build request is already ${row.status}`)
  if (buildRank[event.status] <= buildRank[row.status]) {
    return refuse(`build request cannot go from ${row.status} back to ${event.status}`)
  }
  const { message: _, ...rest } = row
  state.buildRequests.set(event.buildRequestId, {
    ...rest,
    status: event.status,
    ...(event.message === undefined ? {} : { message: event.message }),
    updatedSeq: seq,
    updatedAt: event.timestamp
  })
  return undefined
}

/** The catalog rows of `run`'s outputs that `run` still holds. */
const heldOutputs = (state: State, run: { jobRunId: string; outputs: ReadonlyArray<string> }) => {
  const held: Array<PartitionRow> = []
  for (const ref of run.outputs) {
    const row = state.partitions.get(ref)
    if (
      row !== undefined &&
      row.jobRunId === run.jobRunId &&
      (row.status === "SCHEDULED" || row.status === "BUILDING")
    ) {
      held.push(row)
    }
  }
  return held
}

const setLease = (state: State, row: PartitionRow, lease: number, seq: number, at: number) => {
  state.partitions.set(row.ref, { ...row, leaseExpiresAt: lease, updatedSeq: seq, updatedAt: at })
}

const jobRunStatus = (state: State, event: JobRunStatusChanged, seq: number, refuse: Refuse) => {
  const row = state.jobRuns.get(event.jobRunId)
  if (event.status === "COMPLETED" && event.manifest === undefined) return refuse("COMPLETED needs a manifest")
  if (row === undefined) {
    if (event.status !== "SCHEDULED" && event.status !== "RUNNING" && event.status !== "SKIPPED") {
      return refuse(`job run ${event.jobRunId} cannot start as ${event.status}: it was never scheduled`)
    }
  } else {
    if (row.jobName !== event.jobName) return refuse(`job run ${event.jobRunId} belongs to job ${row.jobName}`)
    if (row.buildRequestId !== event.buildRequestId) {
      return refuse(`job run ${event.jobRunId} belongs to build request ${row.buildRequestId}`)
    }
    if (isFinalJobRunStatus(row.status)) return refuse(`job run ${event.jobRunId} is already ${row.status}`)
    if (event.attempt < row.attempt) return refuse(`attempt ${event.attempt} is older than attempt ${row.attempt}`)
    if (event.attempt > row.attempt) {
      if (event.status !== "SCHEDULED" && event.status !== "RUNNING") {
        return refuse(`a new attempt starts as SCHEDULED or RUNNING, not ${event.status}`)
      }
    } else if (!jobRunNext[row.status].includes(event.status)) {
      return refuse(`job run ${event.jobRunId} cannot go from ${row.status} to ${event.status}`)
    }
  }
  const live = event.status === "SCHEDULED" || event.status === "RUNNING"
  const lease = live ? (event.leaseExpiresAt ?? row?.leaseExpiresAt) : undefined
  const manifest = event.manifest ?? row?.manifest
  // Assigned field by field: a row per event is the reducer's hot path, and a spread per optional
  // field cost more than the rest of the row.
  const next: Types.Mutable<JobRunRow> = {
    jobRunId: event.jobRunId,
    buildRequestId: event.buildRequestId,
    jobName: event.jobName,
    jobVersion: event.jobVersion,
    outputs: event.outputs,
    inputs: event.inputs,
    attempt: event.attempt,
    status: event.status,
    createdAt: row?.createdAt ?? event.timestamp,
    updatedSeq: seq,
    updatedAt: event.timestamp
  }
  if (event.message !== undefined) next.message = event.message
  if (manifest !== undefined) next.manifest = manifest
  if (lease !== undefined) next.leaseExpiresAt = lease
  state.jobRuns.set(event.jobRunId, next)
  if (live && event.leaseExpiresAt !== undefined) {
    for (const held of heldOutputs(state, event)) setLease(state, held, event.leaseExpiresAt, seq, event.timestamp)
  }
  return undefined
}

const heartbeat = (state: State, event: JobRunHeartbeat, seq: number, refuse: Refuse) => {
  const row = state.jobRuns.get(event.jobRunId)
  if (row === undefined) return refuse(`unknown job run ${event.jobRunId}`)
  if (row.status !== "SCHEDULED" && row.status !== "RUNNING") {
    return refuse(`job run ${event.jobRunId} is ${row.status}: only a live run heartbeats`)
  }
  state.jobRuns.set(event.jobRunId, {
    ...row,
    leaseExpiresAt: event.leaseExpiresAt,
    updatedSeq: seq,
    updatedAt: event.timestamp
  })
  for (const held of heldOutputs(state, row)) setLease(state, held, event.leaseExpiresAt, seq, event.timestamp)
  return undefined
}

const partitionStatus = (
  state: State,
  event: PartitionStatusChanged,
  seq: number,
  now: number | undefined,
  refuse: Refuse
) => {
  const ref = event.partitionRef
  const row = state.partitions.get(ref)
  const status = event.status
  // REQUESTED, DELEGATED and a FAILED without a job run ("upstream X failed") are one build's view
  // of a partition; the catalog, which spans builds, does not change.
  if (status === "REQUESTED" || status === "DELEGATED" || (status === "FAILED" && event.jobRunId === undefined)) {
    return undefined
  }
  if (status === "UNKNOWN") return refuse("UNKNOWN is not a status a partition can be set to")
  if (status === "STALE") {
    if (row === undefined || (row.status !== "AVAILABLE" && row.status !== "STALE")) {
      return refuse(`only an AVAILABLE partition can become STALE; ${ref} is ${row?.status ?? "UNKNOWN"}`)
    }
    write(state, row, claimOf(row, "STALE"), event, seq)
    return undefined
  }
  const jobRunId = event.jobRunId
  if (jobRunId === undefined)
    return refuse(`${status} needs the job run that ${status === "AVAILABLE" ? "built" : "holds"} ${ref}`)
  const run = state.jobRuns.get(jobRunId)
  if (run === undefined) return refuse(`job run ${jobRunId} never ran`)
  if (!run.outputs.includes(ref)) return refuse(`${ref} is not an output of job run ${jobRunId}`)
  const heldByRun =
    row !== undefined && row.jobRunId === jobRunId && (row.status === "SCHEDULED" || row.status === "BUILDING")
  switch (status) {
    case "SCHEDULED": {
      if (run.status !== "SCHEDULED" && run.status !== "RUNNING") {
        return refuse(`job run ${jobRunId} is ${run.status}: it cannot claim ${ref}`)
      }
      if (now !== undefined && !heldByRun && isLiveClaim(row, now)) {
        return refuse(`${ref} is ${row!.status} under job run ${row!.jobRunId}, whose lease is live`)
      }
      write(
        state,
        row,
        {
          status: "SCHEDULED",
          jobRunId,
          buildRequestId: run.buildRequestId,
          ...(run.leaseExpiresAt === undefined ? {} : { leaseExpiresAt: run.leaseExpiresAt })
        },
        event,
        seq
      )
      return undefined
    }
    case "BUILDING": {
      if (run.status !== "RUNNING") return refuse(`job run ${jobRunId} is ${run.status}, not RUNNING`)
      if (!heldByRun) return refuse(`job run ${jobRunId} does not hold ${ref}`)
      write(state, row, claimOf(row!, "BUILDING"), event, seq)
      return undefined
    }
    case "AVAILABLE": {
      if (run.status !== "COMPLETED") return refuse(`job run ${jobRunId} is ${run.status}, not COMPLETED`)
      if (!heldByRun) return refuse(`job run ${jobRunId} no longer holds ${ref}: another run took it over`)
      write(
        state,
        row,
        {
          status: "AVAILABLE",
          jobRunId,
          buildRequestId: run.buildRequestId,
          lastAvailableSeq: seq,
          jobVersion: run.jobVersion,
          ...(run.manifest === undefined ? {} : { manifest: run.manifest })
        },
        event,
        seq
      )
      return undefined
    }
    case "FAILED": {
      if (!heldByRun) return refuse(`job run ${jobRunId} does not hold ${ref}`)
      write(state, row, { status: "FAILED", jobRunId, buildRequestId: run.buildRequestId }, event, seq)
      return undefined
    }
  }
}

type Fields = Omit<PartitionRow, "ref" | "updatedSeq" | "updatedAt" | "message">

/** `status` with the claim `row` holds (its run, build and lease), kept as it is. */
const claimOf = (row: PartitionRow, status: Fields["status"]): Fields => {
  const fields: Types.Mutable<Fields> = { status }
  if (row.jobRunId !== undefined) fields.jobRunId = row.jobRunId
  if (row.buildRequestId !== undefined) fields.buildRequestId = row.buildRequestId
  if (row.leaseExpiresAt !== undefined) fields.leaseExpiresAt = row.leaseExpiresAt
  return fields
}

/**
 * Writes a partition row. What the last AVAILABLE made (seq, version, manifest) survives later
 * claims, so staleness can be judged while a rebuild runs; claim fields are replaced as a whole.
 * Assigned field by field rather than spread: this runs for most events.
 */
const write = (
  state: State,
  row: PartitionRow | undefined,
  fields: Fields,
  event: { partitionRef: PartitionRow["ref"]; timestamp: number; message?: string | undefined },
  seq: number
) => {
  const next: Types.Mutable<PartitionRow> = {
    ref: event.partitionRef,
    status: fields.status,
    updatedSeq: seq,
    updatedAt: event.timestamp
  }
  if (row?.lastAvailableSeq !== undefined) next.lastAvailableSeq = row.lastAvailableSeq
  if (row?.jobVersion !== undefined) next.jobVersion = row.jobVersion
  if (row?.manifest !== undefined) next.manifest = row.manifest
  Object.assign(next, fields)
  if (event.message !== undefined) next.message = event.message
  state.partitions.set(event.partitionRef, next)
}

const invalidate = (state: State, event: PartitionInvalidated, seq: number, refuse: Refuse) => {
  const row = state.partitions.get(event.partitionRef)
  if (row === undefined) return refuse(`unknown partition ${event.partitionRef}: nothing to invalidate`)
  if (row.status !== "AVAILABLE" && row.status !== "STALE") {
    return refuse(`${event.partitionRef} is ${row.status}; only an AVAILABLE partition can be invalidated`)
  }
  write(state, row, claimOf(row, "STALE"), { ...event, message: event.message ?? event.reason }, seq)
  return undefined
}

const registerSource = (state: State, event: SourcePartitionRegistered, seq: number, refuse: Refuse) => {
  const row = state.partitions.get(event.partitionRef)
  if (row !== undefined && (row.status === "SCHEDULED" || row.status === "BUILDING")) {
    return refuse(`${event.partitionRef} is ${row.status} by job run ${row.jobRunId}: a job produces it, not a source`)
  }
  state.partitions.set(event.partitionRef, {
    ref: event.partitionRef,
    status: "AVAILABLE",
    buildRequestId: event.buildRequestId,
    lastAvailableSeq: seq,
    manifest: event.manifest,
    updatedSeq: seq,
    updatedAt: event.timestamp
  })
  return undefined
}
