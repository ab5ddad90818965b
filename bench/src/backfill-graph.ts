/**
 * The backfill bench's graph: one no-op job over an hourly calendar, so a range of N hours is N job
 * runs and what is measured is Tessera, not the jobs.
 */
import { Dimension, Graph, Job, partitions } from "@tessera/core"
import { Effect } from "effect"

export default Graph.make([
  Job.make({
    name: "hourly",
    outputs: [
      partitions("hourly/hour={hour}", { hour: Dimension.date({ granularity: "hourly", start: "2000-01-01T00" }) })
    ],
    config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [] })),
    run: () => Effect.succeed({})
  })
])
