/**
 * What a graph's jobs produce and read, for people and tools to look at (`tessera graph`, the
 * server's `/api/v1/graph`): each job's output patterns, the jobs it reads from and the source
 * datasets it reads.
 */
import { Either, Option } from "effect"
import type { Job } from "../job/Job.js"
import * as PartitionRef from "../partition/PartitionRef.js"
import type { Graph } from "./Graph.js"

export interface JobNode {
  readonly name: string
  readonly version: string
  readonly outputs: ReadonlyArray<string>
  /** Jobs whose outputs this job reads. */
  readonly upstream: ReadonlyArray<string>
  /** Source partitions it reads, with their values elided: `raw/date=…`. */
  readonly sources: ReadonlyArray<string>
}

/** Values a sample output is made of; the first that every parameter and the job's config accept wins. */
const SAMPLES = ["2026-01-01", "2026-01-01T00", "1", "sample"]

/**
 * A job's inputs are whatever its `config` says for concrete refs, so the outline asks each job about a
 * sample output of each pattern; a config that refuses every sample contributes no edges.
 */
const inputsOf = (job: Job): ReadonlyArray<string> => {
  for (const output of job.outputs) {
    for (const value of SAMPLES) {
      const ref = output.format(Object.fromEntries(output.params.map((param) => [param, value])))
      if (Either.isLeft(ref)) continue
      try {
        return job.config([ref.right]).flatMap((config) => config.inputs)
      } catch {
        // This sample is not a value the config understands; try the next one.
      }
    }
  }
  return []
}

export const describe = (graph: Graph): ReadonlyArray<JobNode> =>
  graph.jobs.map((job) => {
    const upstream = new Set<string>()
    const sources = new Set<string>()
    for (const input of inputsOf(job)) {
      const found = graph.lookup(input)
      if (Either.isLeft(found)) continue
      if (Option.isSome(found.right)) upstream.add(found.right.value.name)
      else if (Either.isRight(PartitionRef.make(input))) sources.add(input.replace(/=[^/]*/g, "=…"))
    }
    return {
      name: job.name,
      version: job.version,
      outputs: job.outputs.map((output) => output.template),
      upstream: [...upstream],
      sources: [...sources]
    }
  })
