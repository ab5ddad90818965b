import { Command, Options } from "@effect/cli"
import { type Graph, type Job, PartitionRef } from "@tessera/core"
import { Console, Either, Option } from "effect"
import { shared, withBuilds } from "./Root.js"

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
 * A job's inputs are whatever its `config` says for concrete refs, so the graph asks each job about a
 * sample output of each pattern; a config that refuses every sample contributes no edges.
 */
const inputsOf = (job: Job.Job): ReadonlyArray<string> => {
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

export const describeGraph = (graph: Graph.Graph): ReadonlyArray<JobNode> =>
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

export const text = (nodes: ReadonlyArray<JobNode>): string => {
  const sources = new Set(nodes.flatMap((node) => node.sources))
  const lines = [`${nodes.length} job(s), ${sources.size} source dataset(s)`]
  for (const node of nodes) {
    lines.push(
      "",
      `${node.name} (version ${node.version})`,
      `  outputs  ${node.outputs.join(", ")}`,
      `  reads    ${[...node.upstream.map((name) => `${name} (job)`), ...node.sources.map((source) => `${source} (source)`)].join(", ") || "nothing"}`
    )
  }
  return lines.join("\n")
}

const quote = (text: string) => `"${text.replaceAll('"', "#quot;")}"`

export const mermaid = (nodes: ReadonlyArray<JobNode>): string => {
  const sources = [...new Set(nodes.flatMap((node) => node.sources))]
  const jobId = new Map(nodes.map((node, i) => [node.name, `job${i}`]))
  const lines = ["flowchart LR"]
  for (const [i, source] of sources.entries()) lines.push(`  source${i}[(${quote(source)})]`)
  for (const [i, node] of nodes.entries()) {
    lines.push(`  job${i}[${quote(`${node.name}<br/>${node.outputs.join("<br/>")}`)}]`)
  }
  for (const [i, node] of nodes.entries()) {
    for (const source of node.sources) lines.push(`  source${sources.indexOf(source)} --> job${i}`)
    for (const name of node.upstream) lines.push(`  ${jobId.get(name)} --> job${i}`)
  }
  return lines.join("\n")
}

export const graph = Command.make(
  "graph",
  {
    mermaid: Options.boolean("mermaid").pipe(Options.withDescription("Print a Mermaid flowchart instead of text")),
    ...shared
  },
  (options) =>
    withBuilds("graph", options, { needsGraph: true }, (_, loaded) => {
      const nodes = describeGraph(loaded)
      return Console.log(
        options.json ? JSON.stringify({ jobs: nodes }, null, 2) : options.mermaid ? mermaid(nodes) : text(nodes)
      )
    })
).pipe(Command.withDescription("Show the graph's jobs, what they produce and what they read"))
