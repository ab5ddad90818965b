/**
 * The scheduler: request partitions, and Tessera analyses, claims, delegates and executes, writing
 * every step to the event log. The log, not this process, is the source of truth, so every process can
 * await, cancel or resume any build.
 */
import {
  Cause,
  Chunk,
  Clock,
  Context,
  Deferred,
  Effect,
  Either,
  Fiber,
  Layer,
  Option,
  type Scope,
  Stream
} from "effect"
import * as BuildEvent from "../event/BuildEvent.js"
import * as EventId from "../event/EventId.js"
import * as Identifier from "../event/Identifier.js"
import { isTerminalBuildStatus } from "../event/Status.js"
import type { BuildRequestSource, BuildRequestStatus, PartitionStatus } from "../event/Status.js"
import type { Graph } from "../graph/Graph.js"
import * as Plan from "../graph/Plan.js"
import type { Manifest } from "../job/Manifest.js"
import { EventLog, type ReadError, type StoreError } from "../log/EventLog.js"
import * as Queries from "../log/Queries.js"
import * as PartitionRefs from "../partition/PartitionRef.js"
import type { PartitionRef } from "../partition/PartitionRef.js"
import type { AppendConflict, InvalidTransition } from "../projection/Errors.js"
import { PartitionIs } from "../projection/Expectation.js"
import type { BuildRequestRow, JobRunRow } from "../projection/Views.js"
import { DEFAULT_CONCURRENCY, DEFAULT_LEASE_MS } from "./Defaults.js"
import * as BuildEnd from "./BuildEnd.js"
import * as DryRun from "./DryRun.js"
import { BuildFinished, UnknownBuild, UnknownPartition, WorkersUnavailable } from "./Errors.js"
import * as EventLoop from "../runtime/EventLoop.js"
import { describeCause, execute } from "./Execution.js"
import { JobQueue } from "./JobQueue.js"
import * as Sources from "../source/Sources.js"
import { catalogRows } from "./Settle.js"

export interface RequestOptions {
  /** A caller-supplied id makes the request idempotent: the same id twice is one build. */
  readonly id?: string | undefined
  readonly source?: BuildRequestSource | undefined
  /** Job runs executing at once in this process (default 4). */
  readonly concurrency?: number | undefined
  readonly retry?: BuildEvent.RetryPolicy | undefined
  /** How long a claim lives without a heartbeat (default 30 s); heartbeats come every third of it. */
  readonly leaseMs?: number | undefined
  /**
   * "local" (default): this process runs the jobs. "workers": the runs go to the store's job queue
   * and `tessera worker` processes run them; this process only analyses and awaits.
   */
  readonly executor?: "local" | "workers" | undefined
}

export interface BuildResult {
  readonly buildRequestId: string
  readonly status: "COMPLETED" | "FAILED" | "CANCELLED"
  readonly message?: string | undefined
  /** Why a FAILED build failed: its request could not be analysed (bad input) or a job failed. */
  readonly failure?: "analysis" | "execution" | undefined
  /** This build's view of each requested partition. */
  readonly partitions: ReadonlyArray<{ readonly ref: string; readonly status: PartitionStatus }>
  /**
   * Job runs that ran a job for the build, each once whatever its attempts: in this process, or, for
   * a build that ran elsewhere (workers, another process), all of them as the log records.
   */
  readonly built: number
  /** Partitions the build reused (AVAILABLE and up to date) or left to another build building them. */
  readonly delegated: number
}

export type BuildError = StoreError | ReadError | AppendConflict | InvalidTransition

export interface BuildHandle {
  readonly id: string
  /** This build's events from its start, ending with its terminal status. */
  readonly events: Stream.Stream<BuildEvent.LoggedEvent, ReadError>
  /** The build's result, once it is COMPLETED, FAILED or CANCELLED. */
  readonly await: Effect.Effect<BuildResult, BuildError>
}

export interface BuildsShape {
  readonly request: (
    refs: ReadonlyArray<string>,
    options?: RequestOptions
  ) => Effect.Effect<
    BuildHandle,
    PartitionRefs.InvalidPartitionRef | Identifier.InvalidIdentifier | WorkersUnavailable | BuildError
  >
  /** What a request would do, without recording or running anything. */
  readonly plan: (refs: ReadonlyArray<string>) => Effect.Effect<DryRun.DryRun, Plan.PlanError | StoreError>
  /** Continues a build whose process died, taking over its expired leases; finished work is not redone. */
  readonly resume: (
    buildRequestId: string,
    options?: Omit<RequestOptions, "id" | "source">
  ) => Effect.Effect<BuildHandle, UnknownBuild | BuildFinished | BuildError>
  /** Cancels a build wherever it runs: its job runs stop and release their partitions. */
  readonly cancel: (buildRequestId: string) => Effect.Effect<void, UnknownBuild | BuildFinished | BuildError>
  /** Marks a partition and everything built from it STALE; returns every partition invalidated. */
  readonly invalidate: (
    ref: string,
    message?: string
  ) => Effect.Effect<ReadonlyArray<string>, PartitionRefs.InvalidPartitionRef | UnknownPartition | BuildError>
  /**
   * Registers external data as an AVAILABLE source partition. The same file (same ref and checksum)
   * is never registered twice, so it is never processed twice; `registered` says whether it was new.
   */
  readonly registerSource: (
    ref: string,
    manifest: Manifest
  ) => Effect.Effect<{ readonly registered: boolean }, PartitionRefs.InvalidPartitionRef | BuildError>
}

export class Builds extends Context.Tag("@tessera/core/Builds")<Builds, BuildsShape>() {}

/** The graph the builds of this process run. */
export class PipelineGraph extends Context.Tag("@tessera/core/PipelineGraph")<PipelineGraph, Graph>() {}

export { DEFAULT_CONCURRENCY, DEFAULT_LEASE_MS } from "./Defaults.js"

const validRefs = (refs: ReadonlyArray<string>) => Effect.forEach(refs, PartitionRefs.parse)

export const make: Effect.Effect<BuildsShape, never, EventLog | PipelineGraph | Scope.Scope> = Effect.gen(function* () {
  const log = yield* EventLog
  const graph = yield* PipelineGraph
  const queue = yield* Effect.serviceOption(JobQueue)
  const scope = yield* Effect.scope
  const local = new Map<string, Fiber.RuntimeFiber<BuildResult, BuildError>>()

  const stampFor = (buildRequestId: string) =>
    Effect.map(Clock.currentTimeMillis, (timestamp) => ({
      eventId: EventId.unsafeMake(timestamp),
      timestamp,
      buildRequestId
    }))

  const buildRow = (id: string) =>
    Effect.map(log.buildRequests({ buildRequestIds: [id] }), (page) => Option.fromNullable(page.items[0]))

  const partitionsOf = (refs: ReadonlyArray<string>) =>
    Effect.map(catalogRows(log, refs), (rows) =>
      refs.map((ref) => ({ ref, status: (rows.get(ref)?.status ?? "UNKNOWN") as PartitionStatus }))
    )

  const eventsOf = (id: string) =>
    log
      .tail({ buildRequestIds: [id] })
      .pipe(
        Stream.takeUntil(
          (entry) => entry.event._tag === "BuildRequestStatusChanged" && isTerminalBuildStatus(entry.event.status)
        )
      )

  /**
   * What the build's own events say: the job runs it ran and the partitions it handed over (each
   * once), and whether its analysis completed, which tells a failed analysis from a failed job.
   */
  const summaryFromLog = (id: string) =>
    log
      .stream({ buildRequestIds: [id], kinds: ["JobRunStatusChanged", "Delegated", "BuildRequestStatusChanged"] })
      .pipe(
        Stream.runFold(
          { ran: new Set<string>(), handedOver: new Set<string>(), analysed: false },
          (summary, { event }) => {
            if (event._tag === "JobRunStatusChanged" && event.status === "RUNNING") summary.ran.add(event.jobRunId)
            if (event._tag === "Delegated") summary.handedOver.add(event.partitionRef)
            if (event._tag === "BuildRequestStatusChanged" && event.status === "ANALYSIS_COMPLETED")
              summary.analysed = true
            return summary
          }
        )
      )

  /** A result read back from the log, for builds this process did not run (workers ran it, or another process). */
  const resultFromLog = (row: BuildRequestRow): Effect.Effect<BuildResult, StoreError | ReadError> =>
    Effect.gen(function* () {
      const summary = yield* summaryFromLog(row.buildRequestId)
      return {
        buildRequestId: row.buildRequestId,
        status: row.status as BuildResult["status"],
        message: row.message,
        ...(row.status === "FAILED"
          ? { failure: summary.analysed ? ("execution" as const) : ("analysis" as const) }
          : {}),
        partitions: yield* partitionsOf(row.requestedRefs),
        built: summary.ran.size,
        delegated: summary.handedOver.size
      }
    })

  const awaitFromLog = (id: string): Effect.Effect<BuildResult, BuildError> =>
    Effect.gen(function* () {
      const terminal = yield* log.tail({ buildRequestIds: [id], kinds: ["BuildRequestStatusChanged"] }).pipe(
        Stream.filter(
          (entry) => entry.event._tag === "BuildRequestStatusChanged" && isTerminalBuildStatus(entry.event.status)
        ),
        Stream.take(1),
        Stream.runCollect
      )
      if (Chunk.isEmpty(terminal)) return yield* Effect.die(new Error(`the log of build ${id} ended`))
      const row = yield* buildRow(id)
      return yield* resultFromLog(Option.getOrThrow(row))
    })

  const handle = (id: string): BuildHandle => ({
    id,
    events: eventsOf(id),
    await: Effect.suspend(() => {
      const fiber = local.get(id)
      return fiber === undefined ? awaitFromLog(id) : Fiber.join(fiber)
    })
  })

  /** Appends a build status unless the build is already there or past it (a resumed build). */
  const advance = (id: string, statuses: ReadonlyArray<BuildRequestStatus>, message?: string) =>
    Effect.gen(function* () {
      const events = []
      for (const status of statuses) {
        events.push(
          new BuildEvent.BuildRequestStatusChanged({
            ...(yield* stampFor(id)),
            status,
            ...(message === undefined ? {} : { message })
          })
        )
      }
      return yield* log.append(events)
    })

  const run = (
    row: BuildRequestRow,
    options: RequestOptions,
    priorRuns: ReadonlyMap<string, JobRunRow>
  ): Effect.Effect<BuildResult, BuildError> =>
    Effect.gen(function* () {
      const id = row.buildRequestId
      const analysisFailed = (message: string) =>
        Effect.gen(function* () {
          yield* advance(id, ["FAILED"], message)
          return {
            buildRequestId: id,
            status: "FAILED" as const,
            message,
            failure: "analysis" as const,
            partitions: yield* partitionsOf(row.requestedRefs),
            built: 0,
            delegated: 0
          }
        })
      if (row.status === "RECEIVED") yield* advance(id, ["PLANNING"])
      const planned = Plan.plan(graph, row.requestedRefs)
      if (Either.isLeft(planned)) return yield* analysisFailed(planned.left.message)
      const sources = yield* catalogRows(log, planned.right.sources)
      const missing = [...planned.right.sources].filter((ref) => sources.get(ref)?.status !== "AVAILABLE")
      if (missing.length > 0) {
        const shown = missing.slice(0, 10).join(", ") + (missing.length > 10 ? `, and ${missing.length - 10} more` : "")
        return yield* analysisFailed(
          `source partitions are not AVAILABLE: ${shown}. No job produces them: register them first (\`tessera register <ref> --path <file>\`, or Builds.registerSource)`
        )
      }
      if (row.status !== "EXECUTING") yield* advance(id, ["ANALYSIS_COMPLETED", "EXECUTING"])

      if (row.options.executor === "workers" && Option.isSome(queue)) {
        if (planned.right.runs.size === 0) yield* advance(id, ["COMPLETED"])
        yield* queue.value.enqueue(
          planned.right.order.map((key) => {
            const run = planned.right.runs.get(key)!
            return {
              buildRequestId: id,
              key,
              jobName: run.job.name,
              jobVersion: run.job.version,
              outputs: run.outputs,
              inputs: run.inputs,
              args: run.args,
              dependsOn: run.dependsOn
            }
          })
        )
        // Resumed after the last run's worker died before recording the end: record it here.
        const standing = yield* queue.value.progress(id)
        if (standing !== undefined && standing.remaining === 0) yield* BuildEnd.record(log, id, standing.failures)
        return yield* awaitFromLog(id)
      }

      const executed = yield* execute(
        {
          log,
          graph,
          buildRequestId: id,
          retry: options.retry ?? row.options.retry ?? { attempts: 1 },
          leaseMs: options.leaseMs ?? row.options.leaseMs ?? DEFAULT_LEASE_MS,
          concurrency: options.concurrency ?? row.options.concurrency ?? DEFAULT_CONCURRENCY,
          priorRuns
        },
        planned.right
      )
      const failed = [...executed.outcomes].filter(([, outcome]) => outcome._tag === "Failed")
      const message =
        failed.length === 0
          ? undefined
          : failed
              .slice(0, 10)
              .map(([ref, outcome]) =>
                outcome._tag === "Failed" && outcome.ref !== ref
                  ? `${ref}: upstream ${outcome.ref} failed: ${outcome.reason}`
                  : `${ref}: ${outcome._tag === "Failed" ? outcome.reason : ""}`
              )
              .join("; ")
      const status = failed.length === 0 ? "COMPLETED" : "FAILED"
      const finished = yield* Effect.either(advance(id, [status], message))
      // Cancelled while finishing: the cancellation is what the log says.
      if (Either.isLeft(finished) && finished.left._tag !== "InvalidTransition") return yield* finished.left
      const final = Either.isLeft(finished) ? Option.getOrThrow(yield* buildRow(id)) : undefined
      return {
        buildRequestId: id,
        status: final === undefined ? status : (final.status as BuildResult["status"]),
        message: final === undefined ? message : final.message,
        ...(status === "FAILED" ? { failure: "execution" as const } : {}),
        partitions: yield* partitionsOf(row.requestedRefs),
        built: executed.built,
        delegated: executed.delegated
      }
    })

  /** Runs a build in this process until it finishes or the log says it was cancelled. */
  const start = (row: BuildRequestRow, options: RequestOptions, priorRuns: Map<string, JobRunRow>) =>
    Effect.gen(function* () {
      const id = row.buildRequestId
      const head = yield* log.head
      const cancelled = log.tail({ buildRequestIds: [id], kinds: ["BuildRequestStatusChanged"] }, { after: head }).pipe(
        Stream.filter(
          (entry) => entry.event._tag === "BuildRequestStatusChanged" && entry.event.status === "CANCELLED"
        ),
        Stream.take(1),
        Stream.runDrain
      )
      // The fiber is registered before it starts, so it can always find (and remove) itself.
      const ready = yield* Deferred.make<void>()
      const fiber = yield* Deferred.await(ready).pipe(
        Effect.zipRight(
          Effect.raceFirst(
            run(row, options, priorRuns).pipe(
              // A build this process runs ends in the log, whatever stopped it: only a dead process
              // leaves one EXECUTING (for `resume`). Interruption is SIGTERM or a cancel, not an end.
              Effect.onError((cause) =>
                Cause.isInterruptedOnly(cause)
                  ? Effect.void
                  : advance(id, ["FAILED"], describeCause(cause)).pipe(
                      Effect.catchAll((error) =>
                        Effect.logWarning(`could not record ${id} as FAILED: ${error.message}`)
                      )
                    )
              )
            ),
            Effect.flatMap(cancelled, () =>
              Effect.flatMap(buildRow(id), (current) => resultFromLog(Option.getOrThrow(current)))
            )
          )
        ),
        Effect.ensuring(Effect.sync(() => local.delete(id))),
        Effect.withSpan("Builds.execute", { attributes: { buildRequestId: id } }),
        // Heartbeats and lease timers fire while the build's fibers keep a synchronous store busy.
        Effect.withScheduler(EventLoop.fair),
        Effect.forkIn(scope)
      )
      local.set(id, fiber)
      yield* Deferred.succeed(ready, undefined)
      return handle(id)
    })

  const request: BuildsShape["request"] = Effect.fn("Builds.request")(function* (input, options = {}) {
    const refs = yield* validRefs(input)
    if (options.executor === "workers" && Option.isNone(queue))
      return yield* new WorkersUnavailable({ store: log.store })
    if (options.id !== undefined) {
      const wrong = Identifier.problem(options.id)
      if (wrong !== undefined) {
        return yield* new Identifier.InvalidIdentifier({ kind: "build request id", value: options.id, reason: wrong })
      }
    }
    const id = options.id ?? `build-${yield* EventId.make}`
    if (Option.isSome(yield* buildRow(id))) return handle(id)
    const events: Array<BuildEvent.BuildEvent> = [
      new BuildEvent.BuildRequestReceived({
        ...(yield* stampFor(id)),
        requestedRefs: refs,
        source: options.source ?? "api",
        options: {
          ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
          ...(options.retry === undefined ? {} : { retry: options.retry }),
          ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
          ...(options.executor === undefined ? {} : { executor: options.executor })
        }
      })
    ]
    for (const partitionRef of refs) {
      events.push(
        new BuildEvent.PartitionStatusChanged({ ...(yield* stampFor(id)), partitionRef, status: "REQUESTED" })
      )
    }
    const received = yield* Effect.either(log.append(events))
    // Another process received the same id first: it is one build, theirs.
    if (Either.isLeft(received)) {
      if (received.left._tag === "InvalidTransition") return handle(id)
      return yield* received.left
    }
    const row = Option.getOrThrow(yield* buildRow(id))
    return yield* start(row, options, new Map())
  })

  const resume: BuildsShape["resume"] = Effect.fn("Builds.resume")(function* (id, options = {}) {
    const found = yield* buildRow(id)
    if (Option.isNone(found)) return yield* new UnknownBuild({ buildRequestId: id })
    if (isTerminalBuildStatus(found.value.status)) {
      return yield* new BuildFinished({ buildRequestId: id, status: found.value.status })
    }
    if (local.has(id)) return handle(id)
    const prior = yield* Queries.allPages((after) => log.jobRuns({ buildRequestIds: [id], after }))
    return yield* start(found.value, options, new Map(prior.map((row) => [row.jobRunId, row])))
  })

  const cancel: BuildsShape["cancel"] = Effect.fn("Builds.cancel")(function* (id) {
    const found = yield* buildRow(id)
    if (Option.isNone(found)) return yield* new UnknownBuild({ buildRequestId: id })
    if (isTerminalBuildStatus(found.value.status)) {
      return yield* new BuildFinished({ buildRequestId: id, status: found.value.status })
    }
    yield* advance(id, ["CANCELLED"], "cancelled on request")
    const fiber = local.get(id)
    if (fiber !== undefined) yield* Fiber.await(fiber)
  })

  const plan: BuildsShape["plan"] = Effect.fn("Builds.plan")(function* (refs) {
    const planned = Plan.plan(graph, refs)
    if (Either.isLeft(planned)) return yield* planned.left
    const all = new Set<string>(planned.right.sources)
    for (const run of planned.right.runs.values()) for (const ref of [...run.outputs, ...run.inputs]) all.add(ref)
    const rows = yield* catalogRows(log, all)
    return DryRun.describe(planned.right, rows, yield* Clock.currentTimeMillis)
  })

  const invalidate: BuildsShape["invalidate"] = Effect.fn("Builds.invalidate")(function* (input, message) {
    const ref = yield* PartitionRefs.parse(input)
    const rows = yield* catalogRows(log, [ref])
    if (!rows.has(ref)) return yield* new UnknownPartition({ ref })
    // What was built from what is in the job runs that made each AVAILABLE partition: one query per
    // generation downstream, through the stores' index of runs by input, never a scan of the log.
    const order: Array<PartitionRef> = [ref]
    const seen = new Set<string>(order)
    for (let frontier: ReadonlyArray<PartitionRef> = order; frontier.length > 0; ) {
      const next: Array<PartitionRef> = []
      for (const chunk of Queries.chunksOf(frontier)) {
        const runs = yield* Queries.allPages((after) => log.jobRuns({ inputs: chunk, statuses: ["COMPLETED"], after }))
        for (const run of runs) {
          for (const output of run.outputs) {
            if (!seen.has(output)) {
              seen.add(output)
              next.push(output)
            }
          }
        }
      }
      order.push(...next)
      frontier = next
    }
    const current = yield* catalogRows(log, order)
    const targets = order.filter((target) => current.get(target)?.status === "AVAILABLE")
    if (targets.length === 0) return []
    const batch = `invalidate-${yield* EventId.make}`
    const events = []
    for (const target of targets) {
      events.push(
        new BuildEvent.PartitionInvalidated({
          ...(yield* stampFor(batch)),
          partitionRef: target,
          reason: target === ref ? "manual" : "upstream-rebuilt",
          message: target === ref ? (message ?? "invalidated by hand") : `upstream ${ref} was invalidated`
        })
      )
    }
    yield* log.append(events, {
      expect: targets.map((target) => new PartitionIs({ ref: target, statuses: ["AVAILABLE"] }))
    })
    return targets
  })

  const registerSource: BuildsShape["registerSource"] = Effect.fn("Builds.registerSource")(function* (ref, manifest) {
    // One source cannot be given twice.
    const { outcomes } = yield* Sources.register(log, [{ ref, manifest }]).pipe(
      Effect.catchTag("DuplicateSource", Effect.die)
    )
    return { registered: outcomes[0]!.outcome !== "unchanged" }
  })

  return { request, plan, resume, cancel, invalidate, registerSource }
})

/** Builds on the `EventLog` in context, for `graph`. Builds started here stop when the layer closes. */
export const layer = (graph: Graph): Layer.Layer<Builds, never, EventLog> =>
  Layer.scoped(Builds, make).pipe(Layer.provide(Layer.succeed(PipelineGraph, graph)))
