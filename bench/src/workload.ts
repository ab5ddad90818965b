/**
 * A realistic, valid event history for benchmarks: builds that claim, run and complete job runs
 * over daily partitions, the shape a scheduler writes.
 */
import { BuildEvent, EventId, PartitionRef } from "@tessera/core"

/**
 * About `n` events: per job run, SCHEDULED/claim, RUNNING/BUILDING, COMPLETED/AVAILABLE, and a
 * heartbeat. Histories with different `lane`s share no build, run or partition, so they can be
 * appended concurrently.
 */
export const history = (n: number, lane = ""): Array<BuildEvent.BuildEvent> => {
  const out: Array<BuildEvent.BuildEvent> = []
  const lease = Date.now() + 3_600_000
  let run = 0
  while (out.length < n) {
    const build = `${lane}build-${Math.floor(run / 100)}`
    const stamp = () => {
      const timestamp = Date.now()
      return { eventId: EventId.unsafeMake(timestamp), timestamp, buildRequestId: build }
    }
    if (run % 100 === 0) {
      out.push(new BuildEvent.BuildRequestReceived({ ...stamp(), requestedRefs: [], source: "api", options: {} }))
    }
    const ref = PartitionRef.unsafeMake(`sales/date=${lane}${run}`)
    const spec = {
      jobRunId: `${lane}run-${run}`,
      jobName: "clean",
      jobVersion: "1",
      outputs: [ref],
      inputs: [],
      attempt: 1
    }
    out.push(
      new BuildEvent.JobRunStatusChanged({ ...stamp(), ...spec, status: "SCHEDULED", leaseExpiresAt: lease }),
      new BuildEvent.PartitionStatusChanged({
        ...stamp(),
        partitionRef: ref,
        status: "SCHEDULED",
        jobRunId: spec.jobRunId
      }),
      new BuildEvent.JobRunStatusChanged({ ...stamp(), ...spec, status: "RUNNING", leaseExpiresAt: lease }),
      new BuildEvent.PartitionStatusChanged({
        ...stamp(),
        partitionRef: ref,
        status: "BUILDING",
        jobRunId: spec.jobRunId
      }),
      new BuildEvent.JobRunHeartbeat({ ...stamp(), jobRunId: spec.jobRunId, leaseExpiresAt: lease }),
      new BuildEvent.JobRunStatusChanged({ ...stamp(), ...spec, status: "COMPLETED", manifest: { rows: run } }),
      new BuildEvent.PartitionStatusChanged({
        ...stamp(),
        partitionRef: ref,
        status: "AVAILABLE",
        jobRunId: spec.jobRunId
      })
    )
    run++
  }
  return out.slice(0, n)
}
