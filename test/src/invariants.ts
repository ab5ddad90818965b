/**
 * Checks over a whole log that hold after every scenario, whatever happened in it.
 */
import type { BuildEvent } from "@tessera/core"

/**
 * No partition was ever SCHEDULED or BUILDING under two live job runs at once: whenever a run
 * claims a partition, the previous holder had released it, finished, or let its lease run out by
 * the store's clock at the claim's append (`appendedAt`), the clock the store judged it by.
 * Returns the violations, described.
 */
export const overlappingClaims = (events: ReadonlyArray<BuildEvent.LoggedEvent>): Array<string> => {
  const leases = new Map<string, number>()
  const holders = new Map<string, { run: string; seq: number }>()
  const violations: Array<string> = []
  for (const { seq, event, appendedAt } of events) {
    if (
      (event._tag === "JobRunStatusChanged" || event._tag === "JobRunHeartbeat") &&
      event.leaseExpiresAt !== undefined
    ) {
      leases.set(event.jobRunId, event.leaseExpiresAt)
    }
    if (event._tag === "JobRunStatusChanged" && event.status !== "SCHEDULED" && event.status !== "RUNNING") {
      leases.delete(event.jobRunId)
      for (const [ref, holder] of holders) if (holder.run === event.jobRunId) holders.delete(ref)
    }
    if (event._tag !== "PartitionStatusChanged" || event.jobRunId === undefined) continue
    const holder = holders.get(event.partitionRef)
    if (event.status === "SCHEDULED" || event.status === "BUILDING") {
      if (holder !== undefined && holder.run !== event.jobRunId) {
        const lease = leases.get(holder.run)
        if (lease !== undefined && lease > appendedAt) {
          violations.push(
            `seq ${seq}: ${event.jobRunId} claimed ${event.partitionRef} at ${appendedAt} while ${holder.run} ` +
              `(seq ${holder.seq}) held it under a lease until ${lease}`
          )
        }
      }
      holders.set(event.partitionRef, { run: event.jobRunId, seq })
    } else if (holder?.run === event.jobRunId) {
      holders.delete(event.partitionRef)
    }
  }
  return violations
}

/** How many times each partition became AVAILABLE through a job run. */
export const buildsPerPartition = (events: ReadonlyArray<BuildEvent.LoggedEvent>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const { event } of events) {
    if (event._tag === "PartitionStatusChanged" && event.status === "AVAILABLE") {
      counts.set(event.partitionRef, (counts.get(event.partitionRef) ?? 0) + 1)
    }
  }
  return counts
}
