/**
 * One partition as the API shows it: its catalog row, whether the next build would rebuild it and
 * why (the dry run's judgement), the job runs that claimed or built it, and what was built from it.
 */
import { BuildErrors, Builds, EventLog, type Graph, PartitionRef, Queries } from "@tessera/core"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import type * as Bodies from "../api/Bodies.js"

/** The dry run's judgement of `ref`, or undefined when it cannot be planned (a graph error). */
const freshness = (ref: string) =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    const plan = yield* Effect.either(builds.plan([ref]))
    if (Either.isLeft(plan)) {
      if (plan.left._tag === "StoreError") return yield* plan.left
      return undefined
    }
    const judged = plan.right.partitions.find((partition) => partition.ref === ref)
    if (judged === undefined) {
      return {
        stale: false,
        decision: "source",
        reason: "a source partition: no job of the graph produces it"
      } as const
    }
    return { stale: judged.decision === "stale", decision: judged.decision, reason: judged.reason } as const
  })

export const read: (
  input: string,
  graph: Option.Option<Graph.Graph>
) => Effect.Effect<
  Bodies.PartitionDetail,
  PartitionRef.InvalidPartitionRef | BuildErrors.UnknownPartition | EventLog.ReadError,
  EventLog.EventLog | Builds.Builds
> = Effect.fn("PartitionView.read")(function* (input: string, graph: Option.Option<Graph.Graph>) {
  const ref = yield* PartitionRef.parse(input)
  const log = yield* EventLog.EventLog
  const partition = (yield* log.partitions({ refs: [ref], limit: 1 })).items[0]
  if (partition === undefined) return yield* new BuildErrors.UnknownPartition({ ref })
  // By ref alone: the stores index events by ref, and a kind filter beside it makes SQLite scan.
  const claims = yield* log.stream({ partitionRefs: [ref] }).pipe(Stream.runCollect)
  // The producing run comes from the catalog row too: its events may have been compacted out of the log.
  const jobRunIds = [
    ...new Set([
      ...(partition.jobRunId === undefined ? [] : [partition.jobRunId]),
      ...Chunk.toReadonlyArray(claims).flatMap(({ event }) =>
        event._tag === "PartitionStatusChanged" && event.jobRunId !== undefined ? [event.jobRunId] : []
      )
    ])
  ]
  const jobRuns = jobRunIds.length === 0 ? [] : yield* Queries.allPages((after) => log.jobRuns({ jobRunIds, after }))
  jobRuns.sort((a, b) => a.createdAt - b.createdAt)
  const producer = jobRuns.find((run) => run.jobRunId === partition.jobRunId)
  const job = Option.flatMap(graph, (g) => Either.getOrElse(g.lookup(ref), () => Option.none()))
  const judged = Option.isSome(graph) ? yield* freshness(ref) : undefined
  return {
    partition,
    ...(judged === undefined ? {} : { freshness: judged }),
    ...(Option.isSome(job) ? { job: job.value.name } : {}),
    inputs: producer?.inputs ?? [],
    jobRuns
  } satisfies Bodies.PartitionDetail
})

/** Partitions built by completed job runs that read `ref`, found through the stores' index of runs by input. */
export const dependents = Effect.fn("PartitionView.dependents")(function* (input: string) {
  const ref = yield* PartitionRef.parse(input)
  const log = yield* EventLog.EventLog
  const exists = (yield* log.partitions({ refs: [ref], limit: 1 })).items.length > 0
  if (!exists) return yield* new BuildErrors.UnknownPartition({ ref })
  const runs = yield* Queries.allPages((after) => log.jobRuns({ inputs: [ref], statuses: ["COMPLETED"], after }))
  const found = new Set<string>()
  for (const run of runs) for (const output of run.outputs) found.add(output)
  return { ref, dependents: [...found].sort() }
})
