/**
 * Whole builds as a scheduler writes them, at a chosen time: for retention tests, which need logs
 * of many builds spread over simulated days.
 */
import { BuildEvent, EventId, PartitionRef } from "@tessera/core"

export interface BuildShape {
  /** Job runs in the build, each building one partition (default 2). */
  readonly runs?: number
  /** Heartbeats per run (default 2). */
  readonly heartbeats?: number
  /** The partitions' dataset (default "sales"); refs are `<dataset>/run=<n>`, shared by every build. */
  readonly dataset?: string
}

/**
 * The events of build `id` at time `at`: received, then per run a claim, heartbeats, RUNNING /
 * BUILDING and COMPLETED / AVAILABLE, then (unless `finished` is false) COMPLETED. Each run
 * rebuilds the same partition as the builds before it, as a schedule rebuilding "latest" would.
 */
export const build = (id: string, at: number, shape: BuildShape = {}, finished = true) => {
  const stamp = () => ({ eventId: EventId.unsafeMake(at), timestamp: at, buildRequestId: id })
  const lease = at + 60_000
  const out: Array<BuildEvent.BuildEvent> = [
    new BuildEvent.BuildRequestReceived({ ...stamp(), requestedRefs: [], source: "api", options: {} }),
    new BuildEvent.BuildRequestStatusChanged({ ...stamp(), status: "EXECUTING" })
  ]
  for (let n = 0; n < (shape.runs ?? 2); n++) {
    const ref = PartitionRef.unsafeMake(`${shape.dataset ?? "sales"}/run=${n}`)
    const spec = {
      jobRunId: `${id}-run-${n}`,
      jobName: "clean",
      jobVersion: "1",
      outputs: [ref],
      inputs: [],
      attempt: 1
    }
    const partition = (status: "SCHEDULED" | "BUILDING" | "AVAILABLE") =>
      new BuildEvent.PartitionStatusChanged({ ...stamp(), partitionRef: ref, status, jobRunId: spec.jobRunId })
    out.push(
      new BuildEvent.JobRunStatusChanged({ ...stamp(), ...spec, status: "SCHEDULED", leaseExpiresAt: lease }),
      partition("SCHEDULED"),
      new BuildEvent.JobRunStatusChanged({ ...stamp(), ...spec, status: "RUNNING", leaseExpiresAt: lease }),
      partition("BUILDING")
    )
    for (let h = 0; h < (shape.heartbeats ?? 2); h++) {
      out.push(new BuildEvent.JobRunHeartbeat({ ...stamp(), jobRunId: spec.jobRunId, leaseExpiresAt: lease }))
    }
    if (finished) {
      out.push(
        new BuildEvent.JobRunStatusChanged({ ...stamp(), ...spec, status: "COMPLETED", manifest: { rows: n, at } }),
        partition("AVAILABLE")
      )
    }
  }
  if (finished) out.push(new BuildEvent.BuildRequestStatusChanged({ ...stamp(), status: "COMPLETED" }))
  return out
}
