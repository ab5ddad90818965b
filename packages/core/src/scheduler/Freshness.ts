/**
 * Whether a partition a run would produce can be reused, is being built by someone else, or must be
 * (re)built — and why. The scheduler and the dry-run report share this one judgement.
 */
import type { PlannedRun } from "../graph/Plan.js"
import { isLiveClaim, type PartitionRow } from "../projection/Views.js"

export type Verdict =
  /** AVAILABLE and not stale: reuse it (historical delegation). */
  | { readonly _tag: "Fresh"; readonly row: PartitionRow }
  /** SCHEDULED or BUILDING under another live claim: wait for it (active delegation). */
  | { readonly _tag: "Held"; readonly row: PartitionRow }
  /** Never built, failed, released or stale: build it here. */
  | { readonly _tag: "Build"; readonly reason: string; readonly stale: boolean }

export const judge = (
  run: PlannedRun,
  row: PartitionRow | undefined,
  inputs: ReadonlyMap<string, PartitionRow>,
  now: number
): Verdict => {
  if (row === undefined) return { _tag: "Build", reason: "never built", stale: false }
  if (isLiveClaim(row, now)) return { _tag: "Held", row }
  switch (row.status) {
    case "AVAILABLE": {
      if (row.jobVersion !== undefined && row.jobVersion !== run.job.version) {
        return {
          _tag: "Build",
          reason: `job ${run.job.name} changed version from ${row.jobVersion} to ${run.job.version}`,
          stale: true
        }
      }
      const rebuilt = rebuiltInput(row, run.inputs, inputs)
      if (rebuilt !== undefined) return { _tag: "Build", reason: `input ${rebuilt} was rebuilt after it`, stale: true }
      return { _tag: "Fresh", row }
    }
    case "STALE":
      return { _tag: "Build", reason: `invalidated${row.message === undefined ? "" : `: ${row.message}`}`, stale: true }
    case "FAILED":
      return { _tag: "Build", reason: "its last build failed", stale: false }
    case "SCHEDULED":
    case "BUILDING":
      return { _tag: "Build", reason: `the lease of job run ${row.jobRunId} expired`, stale: false }
    case "UNKNOWN":
      return { _tag: "Build", reason: "never built", stale: false }
  }
}

/** The first of `inputs` that became AVAILABLE after `row` did: `row` is stale because of it. */
export const rebuiltInput = (
  row: PartitionRow,
  inputs: ReadonlyArray<string>,
  rows: ReadonlyMap<string, PartitionRow>
): string | undefined => {
  const built = row.lastAvailableSeq ?? 0
  return inputs.find((input) => {
    const upstream = rows.get(input)?.lastAvailableSeq
    return upstream !== undefined && upstream > built
  })
}
