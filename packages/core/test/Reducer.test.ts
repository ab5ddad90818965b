import { describe, expect, it } from "@effect/vitest"
import { BuildEvent, EventId, PartitionRef, Reducer } from "@tessera/core"

const ref = PartitionRef.unsafeMake("sales/date=2026-11-01")

/** A log replayed event by event into one state, as every store's views are built. */
const replay = () => {
  const state = Reducer.emptyState()
  let seq = 0
  const apply = (event: BuildEvent.BuildEvent) => {
    seq++
    const refused = Reducer.reduce(state, { event, seq, appendedAt: event.timestamp })
    if (refused !== undefined) throw refused
    return seq
  }
  return { state, apply }
}

const stamp = (timestamp: number, buildRequestId = "b1") => ({
  eventId: EventId.unsafeMake(timestamp),
  timestamp,
  buildRequestId
})

const run = (jobRunId: string) => ({
  jobRunId,
  jobName: "clean",
  jobVersion: "v1",
  outputs: [ref],
  inputs: [],
  attempt: 1
})

const runEvent = (
  jobRunId: string,
  buildRequestId: string,
  at: number,
  fields: Pick<BuildEvent.JobRunStatusChanged, "status"> &
    Partial<Pick<BuildEvent.JobRunStatusChanged, "leaseExpiresAt" | "manifest" | "message">>
) => new BuildEvent.JobRunStatusChanged({ ...stamp(at, buildRequestId), ...run(jobRunId), ...fields })

const partitionEvent = (
  jobRunId: string,
  buildRequestId: string,
  at: number,
  status: BuildEvent.PartitionStatusChanged["status"]
) => new BuildEvent.PartitionStatusChanged({ ...stamp(at, buildRequestId), partitionRef: ref, status, jobRunId })

/** `jobRunId` claims, starts, builds and completes `ref` with `manifest`; the seq of its AVAILABLE. */
const build = (log: ReturnType<typeof replay>, jobRunId: string, buildRequestId: string, at: number) => {
  log.apply(runEvent(jobRunId, buildRequestId, at, { status: "SCHEDULED", leaseExpiresAt: at + 30_000 }))
  log.apply(partitionEvent(jobRunId, buildRequestId, at, "SCHEDULED"))
  log.apply(runEvent(jobRunId, buildRequestId, at + 1, { status: "RUNNING", leaseExpiresAt: at + 30_000 }))
  log.apply(partitionEvent(jobRunId, buildRequestId, at + 1, "BUILDING"))
  log.apply(runEvent(jobRunId, buildRequestId, at + 2, { status: "COMPLETED", manifest: { rows: at } }))
  return log.apply(partitionEvent(jobRunId, buildRequestId, at + 2, "AVAILABLE"))
}

describe("Reducer rows", () => {
  it("a claim holds the partition under its run's lease, a heartbeat extends both, BUILDING keeps the claim", () => {
    const log = replay()
    log.apply(runEvent("r1", "b1", 1_000, { status: "SCHEDULED", leaseExpiresAt: 31_000, message: "missing" }))
    log.apply(partitionEvent("r1", "b1", 1_000, "SCHEDULED"))
    // The row of a partition r1 of b1 holds: its status, lease, and the event that last wrote it.
    const heldByR1 = (status: string, leaseExpiresAt: number, updatedSeq: number, updatedAt: number) => ({
      ref,
      status,
      jobRunId: "r1",
      buildRequestId: "b1",
      leaseExpiresAt,
      updatedSeq,
      updatedAt
    })
    expect(log.state.partitions.get(ref)).toEqual(heldByR1("SCHEDULED", 31_000, 2, 1_000))
    log.apply(new BuildEvent.JobRunHeartbeat({ ...stamp(2_000), jobRunId: "r1", leaseExpiresAt: 62_000 }))
    expect(log.state.jobRuns.get("r1")).toMatchObject({ status: "SCHEDULED", leaseExpiresAt: 62_000, updatedSeq: 3 })
    expect(log.state.jobRuns.get("r1")?.message).toBe("missing")
    expect(log.state.partitions.get(ref)).toMatchObject({ leaseExpiresAt: 62_000, updatedSeq: 3, updatedAt: 2_000 })
    log.apply(runEvent("r1", "b1", 3_000, { status: "RUNNING" }))
    log.apply(partitionEvent("r1", "b1", 3_000, "BUILDING"))
    expect(log.state.partitions.get(ref)).toEqual(heldByR1("BUILDING", 62_000, 5, 3_000))
    // A run without a message of its own keeps none; its lease carries over from the row.
    expect(log.state.jobRuns.get("r1")).toEqual({
      ...run("r1"),
      buildRequestId: "b1",
      status: "RUNNING",
      leaseExpiresAt: 62_000,
      createdAt: 1_000,
      updatedSeq: 4,
      updatedAt: 3_000
    })
  })

  it("AVAILABLE drops the lease and records what made it; a rebuild's claim keeps that until it lands", () => {
    const log = replay()
    const built = build(log, "r1", "b1", 1_000)
    expect(log.state.partitions.get(ref)).toEqual({
      ref,
      status: "AVAILABLE",
      jobRunId: "r1",
      buildRequestId: "b1",
      lastAvailableSeq: built,
      jobVersion: "v1",
      manifest: { rows: 1_000 },
      updatedSeq: built,
      updatedAt: 1_002
    })
    expect(log.state.jobRuns.get("r1")).toMatchObject({ status: "COMPLETED", manifest: { rows: 1_000 } })
    expect(log.state.jobRuns.get("r1")?.leaseExpiresAt).toBeUndefined()
    log.apply(runEvent("r2", "b2", 5_000, { status: "SCHEDULED", leaseExpiresAt: 35_000 }))
    const claimed = log.apply(partitionEvent("r2", "b2", 5_000, "SCHEDULED"))
    expect(log.state.partitions.get(ref)).toEqual({
      ref,
      status: "SCHEDULED",
      jobRunId: "r2",
      buildRequestId: "b2",
      leaseExpiresAt: 35_000,
      lastAvailableSeq: built,
      jobVersion: "v1",
      manifest: { rows: 1_000 },
      updatedSeq: claimed,
      updatedAt: 5_000
    })
  })

  it("an invalidated partition is STALE with the reason as its message, keeping what built it", () => {
    const log = replay()
    const built = build(log, "r1", "b1", 1_000)
    const invalidated = log.apply(
      new BuildEvent.PartitionInvalidated({ ...stamp(9_000, "b9"), partitionRef: ref, reason: "manual" })
    )
    expect(log.state.partitions.get(ref)).toEqual({
      ref,
      status: "STALE",
      jobRunId: "r1",
      buildRequestId: "b1",
      lastAvailableSeq: built,
      jobVersion: "v1",
      manifest: { rows: 1_000 },
      message: "manual",
      updatedSeq: invalidated,
      updatedAt: 9_000
    })
  })
})
