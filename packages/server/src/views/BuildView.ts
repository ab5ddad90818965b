/**
 * One build as the API shows it: its row, its own view of every partition it touched (requested,
 * delegated to another build, built here) and its job runs with the span of every attempt, read
 * from the build's events; or, once compaction moved those events out of the log, from the views.
 */
import { type BuildEvent, BuildErrors, EventLog, Queries, Status, type Views } from "@tessera/core"
import { Effect, Stream } from "effect"
import type * as Bodies from "../api/Bodies.js"

const ENDED = new Set(["COMPLETED", "FAILED", "CANCELLED", "SKIPPED"])

interface Folded {
  readonly partitions: Map<
    string,
    { status: Bodies.BuildPartition["status"]; delegatedTo?: Bodies.BuildPartition["delegatedTo"] }
  >
  readonly attempts: Map<string, Map<number, { -readonly [K in keyof Bodies.Attempt]: Bodies.Attempt[K] }>>
}

const fold = (folded: Folded, { event }: BuildEvent.LoggedEvent): Folded => {
  switch (event._tag) {
    case "PartitionStatusChanged": {
      const current = folded.partitions.get(event.partitionRef)
      folded.partitions.set(event.partitionRef, { ...current, status: event.status })
      break
    }
    case "Delegated":
      folded.partitions.set(event.partitionRef, {
        status: "DELEGATED",
        delegatedTo: {
          buildRequestId: event.toBuildRequestId,
          mode: event.mode,
          ...(event.toJobRunId === undefined ? {} : { jobRunId: event.toJobRunId })
        }
      })
      break
    case "JobRunStatusChanged": {
      const attempts = folded.attempts.get(event.jobRunId) ?? new Map()
      folded.attempts.set(event.jobRunId, attempts)
      const attempt = attempts.get(event.attempt) ?? { attempt: event.attempt, status: event.status }
      attempt.status = event.status
      if (event.status === "RUNNING") attempt.startedAt = event.timestamp
      if (ENDED.has(event.status)) attempt.endedAt = event.timestamp
      if (event.message !== undefined) attempt.message = event.message
      attempts.set(event.attempt, attempt)
      break
    }
  }
  return folded
}

/** A build whose events were compacted: what the views keep of it, and a flag that says so. */
const fromViews = (build: Views.BuildRequestRow, runs: ReadonlyArray<Views.JobRunRow>) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    const catalog = yield* Queries.allPages((after) => log.partitions({ refs: build.requestedRefs, after }))
    const statuses = new Map(catalog.map((row) => [row.ref, row.status]))
    const partitions = build.requestedRefs.map(
      (ref): Bodies.BuildPartition => ({ ref, status: statuses.get(ref) ?? "UNKNOWN", requested: true })
    )
    const jobRuns = runs
      .map((run) => ({
        ...run,
        attempts: [
          {
            attempt: run.attempt,
            status: run.status,
            ...(ENDED.has(run.status) ? { endedAt: run.updatedAt } : {}),
            ...(run.message === undefined ? {} : { message: run.message })
          }
        ]
      }))
      .sort((a, b) => a.createdAt - b.createdAt)
    return { build, partitions, jobRuns, eventsCompacted: true } satisfies Bodies.Build
  })

/** The build `id`, as it stands in the log now. */
export const read: (
  id: string
) => Effect.Effect<Bodies.Build, BuildErrors.UnknownBuild | EventLog.ReadError, EventLog.EventLog> = Effect.fn(
  "BuildView.read"
)(function* (id: string) {
  const log = yield* EventLog.EventLog
  const build = (yield* log.buildRequests({ buildRequestIds: [id] })).items[0]
  if (build === undefined) return yield* new BuildErrors.UnknownBuild({ buildRequestId: id })
  const runs = yield* Queries.allPages((after) => log.jobRuns({ buildRequestIds: [id], after }))
  const compactedThrough = log.compactedThrough === undefined ? 0 : yield* log.compactedThrough
  if (Status.isTerminalBuildStatus(build.status) && build.updatedSeq <= compactedThrough) {
    return yield* fromViews(build, runs)
  }
  const folded = yield* log
    .stream({ buildRequestIds: [id], kinds: ["PartitionStatusChanged", "Delegated", "JobRunStatusChanged"] })
    .pipe(Stream.runFold<Folded, BuildEvent.LoggedEvent>({ partitions: new Map(), attempts: new Map() }, fold))
  const requested = new Set<string>(build.requestedRefs)
  const refs = [...build.requestedRefs, ...[...folded.partitions.keys()].filter((ref) => !requested.has(ref)).sort()]
  const partitions = refs.map((ref): Bodies.BuildPartition => {
    const seen = folded.partitions.get(ref)
    return {
      ref,
      status: seen?.status ?? "REQUESTED",
      requested: requested.has(ref),
      ...(seen?.delegatedTo === undefined ? {} : { delegatedTo: seen.delegatedTo })
    }
  })
  const jobRuns = runs
    .map((run) => ({
      ...run,
      attempts: [...(folded.attempts.get(run.jobRunId)?.values() ?? [])].sort((a, b) => a.attempt - b.attempt)
    }))
    .sort((a, b) => a.createdAt - b.createdAt)
  return { build, partitions, jobRuns } satisfies Bodies.Build
})
