/**
 * A small pipeline for scheduler tests: raw (source) -> clean -> daily -> weekly (trailing 3 days),
 * whose jobs count their runs and can be told to wait or fail.
 */
import { Graph, Job, type PartitionRef as Ref, pattern } from "@tessera/core"
import { Effect } from "effect"

export interface Knobs {
  /** Runs per job name. */
  readonly runs: Map<string, number>
  /** Job names that fail, and how many times before they succeed (Infinity: always). */
  readonly failures: Map<string, number>
  /** Job names that sleep this long (ms) before finishing. */
  readonly delays: Map<string, number>
  /** Job versions; change one to make its partitions stale. */
  readonly versions: Map<string, string>
}

export const knobs = (): Knobs => ({ runs: new Map(), failures: new Map(), delays: new Map(), versions: new Map() })

const day = (ref: string) => Number(ref.slice(ref.lastIndexOf("=") + 1))

const counted = (k: Knobs, name: string, outputs: ReadonlyArray<Ref.PartitionRef>) =>
  Effect.gen(function* () {
    k.runs.set(name, (k.runs.get(name) ?? 0) + 1)
    const delay = k.delays.get(name)
    if (delay !== undefined) yield* Effect.sleep(delay)
    const failures = k.failures.get(name) ?? 0
    if (failures > 0) {
      k.failures.set(name, failures - 1)
      return yield* Effect.fail(new Error(`${name} failed on purpose`))
    }
    return { outputs: [...outputs], by: name }
  })

export const salesGraph = (k: Knobs) =>
  Graph.make([
    Job.make({
      name: "clean",
      version: k.versions.get("clean") ?? "1",
      outputs: [pattern("clean/date={date}")],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [`raw/date=${day(ref)}`] })),
      run: (ctx) => counted(k, "clean", ctx.outputs)
    }),
    Job.make({
      name: "daily",
      version: k.versions.get("daily") ?? "1",
      outputs: [pattern("daily/date={date}")],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [`clean/date=${day(ref)}`] })),
      run: (ctx) => counted(k, "daily", ctx.outputs)
    }),
    Job.make({
      name: "weekly",
      version: k.versions.get("weekly") ?? "1",
      outputs: [pattern("weekly/end={date}")],
      config: (refs) =>
        refs.map((ref) => ({ outputs: [ref], inputs: [0, 1, 2].map((back) => `daily/date=${day(ref) - back}`) })),
      run: (ctx) => counted(k, "weekly", ctx.outputs)
    })
  ])
