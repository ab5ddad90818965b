/**
 * Analysis: from requested refs, `lookup` + `config` recursively over inputs, to a DAG of job runs.
 */
import { Effect, Either, Option, Predicate, Schema } from "effect"
import type { Job, JobConfig } from "../job/Job.js"
import { type Json, nonJson } from "../job/Manifest.js"
import type { PartitionRef } from "../partition/PartitionRef.js"
import * as PartitionRefs from "../partition/PartitionRef.js"
import type { AmbiguousJob, Graph } from "./Graph.js"

export interface PlannedRun {
  /** Stable within a plan: the job name and its first output. */
  readonly key: string
  readonly job: Job
  readonly outputs: ReadonlyArray<PartitionRef>
  readonly inputs: ReadonlyArray<PartitionRef>
  readonly args: { readonly [key: string]: Json }
  /** Keys of the runs that produce this run's inputs. */
  readonly dependsOn: ReadonlyArray<string>
}

export interface Plan {
  readonly requested: ReadonlyArray<PartitionRef>
  readonly runs: ReadonlyMap<string, PlannedRun>
  /** Which run produces each partition the plan builds. */
  readonly producers: ReadonlyMap<PartitionRef, string>
  /** Inputs no job produces: they must already be AVAILABLE. */
  readonly sources: ReadonlySet<PartitionRef>
  /** Run keys, every run after the runs it depends on. */
  readonly order: ReadonlyArray<string>
}

export class CycleDetected extends Schema.TaggedError<CycleDetected>()("CycleDetected", {
  refs: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `the graph has a cycle: ${this.refs.join(" -> ")}`
  }
}

export class InvalidJobConfig extends Schema.TaggedError<InvalidJobConfig>()("InvalidJobConfig", {
  job: Schema.String,
  refs: Schema.Array(Schema.String),
  reason: Schema.String
}) {
  override get message(): string {
    return `job ${this.job} configured ${this.refs.slice(0, 5).join(", ")}${this.refs.length > 5 ? ", ..." : ""} badly: ${this.reason}`
  }
}

export type PlanError = AmbiguousJob | CycleDetected | InvalidJobConfig | PartitionRefs.InvalidPartitionRef

export const plan = (graph: Graph, requested: ReadonlyArray<string>): Either.Either<Plan, PlanError> => {
  const runs = new Map<string, PlannedRun & { dependsOn: Array<string> }>()
  const producers = new Map<PartitionRef, string>()
  const sources = new Set<PartitionRef>()
  const seen = new Set<string>()
  const valid = validRefs(requested)
  if (Either.isLeft(valid)) return Either.left(valid.left)
  const refs = valid.right

  let wave: ReadonlyArray<PartitionRef> = refs
  while (wave.length > 0) {
    const byJob = new Map<Job, Array<PartitionRef>>()
    for (const ref of wave) {
      if (seen.has(ref)) continue
      seen.add(ref)
      const found = graph.lookup(ref)
      if (Either.isLeft(found)) return Either.left(found.left)
      if (Option.isNone(found.right)) {
        sources.add(ref)
        continue
      }
      const group = byJob.get(found.right.value) ?? []
      group.push(ref)
      byJob.set(found.right.value, group)
    }
    const next: Array<PartitionRef> = []
    for (const [job, wanted] of byJob) {
      const pending = wanted.filter((ref) => !producers.has(ref))
      if (pending.length === 0) continue
      let returned: unknown
      try {
        returned = job.config(pending)
      } catch (error) {
        return Either.left(
          new InvalidJobConfig({ job: job.name, refs: pending, reason: `config threw: ${String(error)}` })
        )
      }
      const wrong = malformedConfigs(returned)
      if (wrong !== undefined) return Either.left(new InvalidJobConfig({ job: job.name, refs: pending, reason: wrong }))
      const configs = returned as ReadonlyArray<JobConfig>
      for (const config of configs) {
        const outputs = validRefs(config.outputs, seen)
        const inputs = validRefs(config.inputs)
        if (Either.isLeft(outputs)) return Either.left(outputs.left)
        if (Either.isLeft(inputs)) return Either.left(inputs.left)
        if (outputs.right.length === 0) {
          return Either.left(
            new InvalidJobConfig({ job: job.name, refs: pending, reason: "a job run with no outputs" })
          )
        }
        const key = `${job.name}:${outputs.right[0]}`
        // A run is keyed by its first output, which only it may produce: that output unclaimed, the run is new.
        const isNew = !producers.has(outputs.right[0]!)
        for (const output of outputs.right) {
          if (!job.outputs.some((pattern) => pattern.matches(output))) {
            return Either.left(
              new InvalidJobConfig({
                job: job.name,
                refs: [output],
                reason: "an output that matches none of its patterns"
              })
            )
          }
          const other = producers.get(output)
          if (other !== undefined && other !== key) {
            return Either.left(
              new InvalidJobConfig({ job: job.name, refs: [output], reason: `output also produced by run ${other}` })
            )
          }
          producers.set(output, key)
          seen.add(output)
        }
        if (isNew) {
          runs.set(key, {
            key,
            job,
            outputs: outputs.right,
            inputs: inputs.right,
            args: config.args ?? {},
            dependsOn: []
          })
          next.push(...inputs.right)
        }
      }
      const uncovered = pending.filter((ref) => !producers.has(ref))
      if (uncovered.length > 0) {
        return Either.left(
          new InvalidJobConfig({ job: job.name, refs: uncovered, reason: "config returned no run for them" })
        )
      }
    }
    wave = next
  }

  for (const run of runs.values()) {
    const deps = new Set<string>()
    for (const input of run.inputs) {
      const producer = producers.get(input)
      if (producer !== undefined) deps.add(producer)
    }
    run.dependsOn.push(...deps)
  }
  const order = topologicalOrder(runs)
  if (Either.isLeft(order)) return Either.left(order.left)
  return Either.right({ requested: refs, runs, producers, sources, order: order.right })
}

const kindOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value

/** Refs a config names must be strings; their syntax is checked with the other refs. */
const malformedRefs = (value: unknown, field: string): string | undefined => {
  if (!Array.isArray(value)) return `${field} is ${kindOf(value)}, not an array of partition refs`
  const at = value.findIndex((ref) => typeof ref !== "string")
  return at === -1
    ? undefined
    : `${field}[${at}] is ${kindOf(value[at])} ${JSON.stringify(value[at]) ?? ""}, not a partition ref`
}

/**
 * Why what a job's `config` returned is not an array of `{ outputs, inputs, args? }`, or
 * undefined when it is one. Graph modules may be plain JavaScript, so nothing is taken on trust.
 */
const malformedConfigs = (value: unknown): string | undefined => {
  if (Effect.isEffect(value))
    return "config returned an Effect; config is synchronous: return the array of job runs itself"
  if (Predicate.isPromiseLike(value))
    return "config returned a Promise; config is synchronous: return the array of job runs itself"
  if (!Array.isArray(value)) return `config returned ${kindOf(value)}, not an array of job runs ({ outputs, inputs })`
  for (const [i, run] of value.entries()) {
    if (typeof run !== "object" || run === null || Array.isArray(run)) {
      return `job run ${i} is ${kindOf(run)}, not an object { outputs, inputs }`
    }
    const wrong =
      malformedRefs((run as JobConfig).outputs, `job run ${i}: outputs`) ??
      malformedRefs((run as JobConfig).inputs, `job run ${i}: inputs (use [] for none)`)
    if (wrong !== undefined) return wrong
    const args: unknown = (run as JobConfig).args
    if (args !== undefined) {
      const notJson =
        typeof args === "object" && args !== null && !Array.isArray(args)
          ? nonJson(args, "args")
          : "args is not an object"
      if (notJson !== undefined) return `job run ${i}: ${notJson}`
    }
  }
  return undefined
}

/** The refs, checked; `known` ones were checked already (requested, or met as an input) and are taken as they are. */
const validRefs = (
  refs: ReadonlyArray<string>,
  known?: ReadonlySet<string>
): Either.Either<Array<PartitionRef>, PartitionRefs.InvalidPartitionRef> => {
  for (const input of refs) {
    if (known?.has(input) === true) continue
    const rule = PartitionRefs.check(input)
    if (rule !== undefined) return Either.left(new PartitionRefs.InvalidPartitionRef({ ref: input, rule }))
  }
  // Every element is a checked ref now; a copy keeps the caller's array out of the plan.
  return Either.right(refs.slice() as Array<PartitionRef>)
}

/** Depth-first order; a back edge is a cycle, reported as the refs along it. */
const topologicalOrder = (runs: ReadonlyMap<string, PlannedRun>): Either.Either<Array<string>, CycleDetected> => {
  const order: Array<string> = []
  const state = new Map<string, "visiting" | "done">()
  for (const root of runs.keys()) {
    if (state.has(root)) continue
    // Iterative, so deep chains (years of daily partitions) do not overflow the stack.
    const stack: Array<{ key: string; deps: ReadonlyArray<string>; next: number }> = [
      { key: root, deps: runs.get(root)!.dependsOn, next: 0 }
    ]
    state.set(root, "visiting")
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      if (top.next < top.deps.length) {
        const dep = top.deps[top.next++]!
        const mark = state.get(dep)
        if (mark === "visiting") {
          const cycle = stack.slice(stack.findIndex((frame) => frame.key === dep)).map((frame) => frame.key)
          const refs = [...cycle, dep].map((key) => runs.get(key)!.outputs[0]!)
          return Either.left(new CycleDetected({ refs: refs.reverse() }))
        }
        if (mark === undefined) {
          state.set(dep, "visiting")
          stack.push({ key: dep, deps: runs.get(dep)!.dependsOn, next: 0 })
        }
      } else {
        state.set(top.key, "done")
        order.push(top.key)
        stack.pop()
      }
    }
  }
  return Either.right(order)
}
