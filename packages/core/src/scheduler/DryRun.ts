/**
 * The plan a request would carry out, without carrying it out: per partition, whether it would be
 * built, reused, delegated or rebuilt as stale, and why.
 */
import type { Plan } from "../graph/Plan.js"
import type { PartitionRow } from "../projection/Views.js"
import { judge } from "./Freshness.js"

export type Decision = "build" | "reuse" | "delegate" | "stale"

export interface PlannedPartition {
  readonly ref: string
  readonly job: string
  readonly decision: Decision
  readonly reason: string
}

export interface DryRun {
  readonly partitions: ReadonlyArray<PlannedPartition>
  readonly sources: ReadonlyArray<{ readonly ref: string; readonly available: boolean }>
  /** Job runs that would run here. */
  readonly runs: number
}

export const describe = (plan: Plan, rows: ReadonlyMap<string, PartitionRow>, now: number): DryRun => {
  const partitions: Array<PlannedPartition> = []
  // A rebuilt upstream makes everything downstream of it stale, so decisions flow in plan order.
  const rebuilt = new Set<string>()
  let runs = 0
  for (const key of plan.order) {
    const run = plan.runs.get(key)!
    const upstream = run.inputs.find((input) => rebuilt.has(input))
    const decisions = run.outputs.map((ref): PlannedPartition => {
      const verdict = judge(run, rows.get(ref), rows, now)
      const job = run.job.name
      if (verdict._tag === "Held") {
        return {
          ref,
          job,
          decision: "delegate",
          reason: `job run ${verdict.row.jobRunId} of build ${verdict.row.buildRequestId} is building it`
        }
      }
      if (upstream !== undefined && verdict._tag === "Fresh") {
        return { ref, job, decision: "stale", reason: `upstream ${upstream} will be rebuilt` }
      }
      if (verdict._tag === "Fresh") {
        return { ref, job, decision: "reuse", reason: `AVAILABLE since seq ${verdict.row.lastAvailableSeq}, not stale` }
      }
      return { ref, job, decision: verdict.stale ? "stale" : "build", reason: verdict.reason }
    })
    // A run builds all its outputs or none: one output to build rebuilds its siblings.
    const builds = decisions.some((d) => d.decision === "build" || d.decision === "stale")
    for (const decision of decisions) {
      const final =
        builds && decision.decision === "reuse"
          ? { ...decision, decision: "build" as const, reason: "built with the other outputs of its job run" }
          : decision
      partitions.push(final)
      if (final.decision === "build" || final.decision === "stale") rebuilt.add(final.ref)
    }
    if (builds) runs++
  }
  const sources = [...plan.sources].map((ref) => ({ ref, available: rows.get(ref)?.status === "AVAILABLE" }))
  return { partitions, sources, runs }
}
