import { Command, Options } from "@effect/cli"
import { GraphOutline } from "@tessera/core"
import { Console } from "effect"
import { shared, withBuilds } from "./Root.js"

export const text = (nodes: ReadonlyArray<GraphOutline.JobNode>): string => {
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

export const mermaid = (nodes: ReadonlyArray<GraphOutline.JobNode>): string => {
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
      const nodes = GraphOutline.describe(loaded)
      return Console.log(
        options.json ? JSON.stringify({ jobs: nodes }, null, 2) : options.mermaid ? mermaid(nodes) : text(nodes)
      )
    })
).pipe(Command.withDescription("Show the graph's jobs, what they produce and what they read"))
