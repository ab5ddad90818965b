/**
 * A worker: claims runnable job runs of builds requested with `executor: "workers"`, settles each
 * exactly as the local executor would, and finishes it in the queue so its dependents can run.
 * Run any number of them, on any machines that share the store; none coordinates the others.
 */
import { Deferred, Duration, Effect, Either, Exit, Option, Schedule, Stream } from "effect"
import { isTerminalBuildStatus } from "../event/Status.js"
import type { Graph } from "../graph/Graph.js"
import { EventLog, type ReadError, type StoreError } from "../log/EventLog.js"
import * as Queries from "../log/Queries.js"
import * as Wakeup from "../log/Wakeup.js"
import type { BuildRequestRow, JobRunRow } from "../projection/Views.js"
import * as EventLoop from "../runtime/EventLoop.js"
import { DEFAULT_LEASE_MS } from "./Defaults.js"
import { execute, planMissing } from "./Execution.js"
import { type ClaimedRun, type Claimer, JobQueue, jobRunIdsOf, type RunResult, runsAsPlanned } from "./JobQueue.js"
import * as BuildEnd from "./BuildEnd.js"
import * as Metrics from "./Metrics.js"
import * as LeaseKeeper from "./LeaseKeeper.js"
import * as Permits from "./Permits.js"
import * as Settle from "./Settle.js"
import * as Spans from "../runtime/Spans.js"

export interface WorkerOptions {
  /** How this worker appears in the queue; default `<hostname>-<pid>-<random>`. */
  readonly id: string
  /** Job runs this worker settles at once (default 4). */
  readonly concurrency?: number | undefined
  /**
   * The lease on what this worker holds: its queue entries and its job runs' claims on their
   * partitions. When it dies, others take them over once it runs out (default: the build's own
   * lease, else 30 s).
   */
  readonly leaseMs?: number | undefined
  /**
   * How long a run whose job this worker's graph has at another version (or not at all) is left
   * for a worker that has the planned one; then this worker fails it, naming both (default 10 s).
   */
  readonly versionWaitMs?: number | undefined
  /** How often to look for work when no wake-up came (default 1 s). */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/** How long a run is left for a worker with its job's planned version before any worker fails it. */
export const DEFAULT_VERSION_WAIT_MS = 10_000

/** Build request rows a worker keeps, the oldest dropped first. */
const BUILDS_KEPT = 256

const keyOf = (run: { readonly buildRequestId: string; readonly key: string }) =>
  `${run.buildRequestId}\u0000${run.key}`

/**
 * Runs until interrupted. On interruption (SIGTERM) it stops claiming, interrupts the runs it is
 * settling (they release their partitions, as a cancelled run does) and gives their queue entries
 * back, so other workers take them over at once.
 */
export const run = (
  graph: Graph,
  options: WorkerOptions
): Effect.Effect<never, StoreError | ReadError, EventLog | JobQueue> =>
  Effect.gen(function* () {
    const log = yield* EventLog
    const queue = yield* JobQueue
    const worker = options.id
    const concurrency = options.concurrency ?? 4
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
    const claimer: Claimer = {
      jobs: new Map(graph.jobs.map((job) => [job.name, job.version])),
      waitMs: options.versionWaitMs ?? DEFAULT_VERSION_WAIT_MS
    }
    const pollInterval = options.pollInterval ?? Duration.seconds(1)
    const wakeup = yield* Wakeup.make
    const inflight = new Map<string, ClaimedRun>()
    const cancelled = new Map<string, Deferred.Deferred<void>>()
    const permits = yield* Permits.make(concurrency)
    const leases = yield* LeaseKeeper.make(log)

    const cancelSignal = (buildRequestId: string) =>
      Effect.gen(function* () {
        const existing = cancelled.get(buildRequestId)
        if (existing !== undefined) return existing
        const signal = yield* Deferred.make<void>()
        cancelled.set(buildRequestId, signal)
        return signal
      })

    // Builds cancelled anywhere stop here too. A tail that fails (the store away for longer than its
    // retries) is restarted from the same cursor, never left dead: a missed cancel would let a job run on.
    const head = yield* log.head
    yield* log.tail({ kinds: ["BuildRequestStatusChanged"] }, { after: head }).pipe(
      Stream.runForEach((entry) =>
        entry.event._tag === "BuildRequestStatusChanged" && entry.event.status === "CANCELLED"
          ? Effect.flatMap(cancelSignal(entry.event.buildRequestId), (signal) => Deferred.succeed(signal, undefined))
          : Effect.void
      ),
      Effect.tapError((error) => Effect.logWarning(`following cancellations: ${error.message}; retrying`)),
      Effect.retry(Schedule.spaced("1 second")),
      Effect.forkScoped
    )
    yield* queue.wakeups.pipe(
      Stream.runForEach(() => wakeup.signal),
      Effect.catchAll((error) => Effect.logWarning(`queue wake-ups stopped: ${error.message}; polling`)),
      Effect.forkScoped
    )
    yield* Metrics.sampleQueue(queue).pipe(
      Effect.catchAll((error) => Effect.logDebug(`sampling the queue's depth: ${error.message}`)),
      Effect.repeat(Schedule.spaced(Metrics.QUEUE_SAMPLE_EVERY)),
      Effect.forkScoped
    )
    // Keep the queue leases of what we settle alive; the event log's own leases are the job runs'.
    yield* Effect.gen(function* () {
      const held = [...inflight.values()]
      if (held.length === 0) return
      const lost = new Set(yield* queue.extend(worker, held, leaseMs))
      // A run finished while the extension was in flight is not held any more, and rightly so.
      for (const run of held) {
        if (lost.has(run.key) && inflight.has(keyOf(run)))
          yield* Effect.logWarning(`worker ${worker} lost its queue lease on ${run.key} of ${run.buildRequestId}`)
      }
    }).pipe(
      Effect.catchAll((error) => Effect.logWarning(`extending queue leases: ${error.message}`)),
      Effect.delay(Duration.millis(Math.max(1, Math.floor(leaseMs / 3)))),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      queue
        .release(worker, [...inflight.values()])
        .pipe(Effect.catchAll((error) => Effect.logWarning(`releasing queue entries on shutdown: ${error.message}`)))
    )

    /** The job runs already in the log for `runs`: a later settle continues their attempts. */
    const priorRuns = (runs: ReadonlyArray<{ readonly buildRequestId: string; readonly key: string }>) =>
      Effect.gen(function* () {
        const ids = runs.flatMap(jobRunIdsOf)
        const found = yield* Queries.allPages((after) => log.jobRuns({ jobRunIds: ids, after }))
        return new Map<string, JobRunRow>(found.map((row) => [row.jobRunId, row]))
      })

    // A build's request row, read once per build rather than once per run: its options never change,
    // and the one later status that matters to a run, CANCELLED, reaches the worker by its cancel tail.
    const builds = new Map<string, BuildRequestRow>()
    const buildOf = (buildRequestId: string) =>
      Effect.gen(function* () {
        const known = builds.get(buildRequestId)
        if (known !== undefined) return known
        const row = (yield* log.buildRequests({ buildRequestIds: [buildRequestId] })).items[0]
        if (row !== undefined && !isTerminalBuildStatus(row.status)) {
          if (builds.size >= BUILDS_KEPT) builds.delete(builds.keys().next().value!)
          builds.set(buildRequestId, row)
        }
        return row
      })

    /** Settles `run`; `known` is its prior job runs when they were read with its claim or its claimed batch. */
    const settle = (
      run: ClaimedRun,
      known: Option.Option<ReadonlyMap<string, JobRunRow>>
    ): Effect.Effect<RunResult, StoreError | ReadError> =>
      Effect.gen(function* () {
        const build = yield* buildOf(run.buildRequestId)
        if (build === undefined)
          return { _tag: "Failed", ref: run.outputs[0]!, reason: "its build request is not in the log" }
        if (isTerminalBuildStatus(build.status)) {
          return { _tag: "Failed", ref: run.outputs[0]!, reason: `build ${build.buildRequestId} is ${build.status}` }
        }
        const retry = build.options.retry ?? { attempts: 1 }
        const runLease = options.leaseMs ?? build.options.leaseMs ?? DEFAULT_LEASE_MS
        const settler = Settle.make({
          log,
          buildRequestId: run.buildRequestId,
          retry,
          leaseMs: runLease,
          permits,
          leases,
          priorRuns: Option.isSome(known) ? known.value : yield* priorRuns([run])
        })
        const job = graph.job(run.jobName)
        if (Option.isNone(job) || !runsAsPlanned(claimer.jobs, run)) {
          const planned = run.jobVersion === undefined ? "" : ` at version ${JSON.stringify(run.jobVersion)}`
          const here = Option.match(job, {
            onNone: () => `has no job ${run.jobName}`,
            onSome: (mine) => `has job ${run.jobName} at version ${JSON.stringify(mine.version)}`
          })
          return yield* settler.fail(
            { run },
            `the build planned job ${run.jobName}${planned}, but no worker whose graph has it claimed the run ` +
              `within ${claimer.waitMs} ms, and worker ${worker}'s graph ${here}: run workers with the graph ` +
              "the build was requested with"
          )
        }
        const node: Settle.RunNode = {
          run: {
            key: run.key,
            job: job.value,
            outputs: run.outputs,
            inputs: run.inputs,
            args: run.args,
            dependsOn: run.dependsOn
          },
          extraInputs: new Set()
        }
        if (run.upstreamFailed !== undefined) {
          return yield* settler.upstreamFailed(node, { _tag: "Failed", ...run.upstreamFailed })
        }
        // What a run reports missing is planned and built here, as the local executor would, then
        // the run is settled again with it as an input. The first judging uses the catalog rows the
        // claim read, when the queue read them.
        let catalog = run.read?.catalog
        const settleWithDeps = Effect.gen(function* () {
          for (;;) {
            const settled = yield* settler.settle(node, catalog)
            catalog = undefined
            if (settled._tag !== "Missing") return settled
            const planned = yield* planMissing({ log, graph }, node.run.outputs, settled.refs)
            if (Either.isLeft(planned)) return yield* settler.upstreamFailed(node, planned.left)
            const executed = yield* execute(
              {
                log,
                graph,
                buildRequestId: run.buildRequestId,
                retry,
                leaseMs: runLease,
                concurrency,
                priorRuns: yield* priorRuns(
                  planned.right.order.map((key) => ({ buildRequestId: run.buildRequestId, key }))
                )
              },
              planned.right
            )
            for (const outcome of executed.outcomes.values()) {
              if (outcome._tag === "Failed") return yield* settler.upstreamFailed(node, outcome)
            }
          }
        })
        const signal = yield* cancelSignal(run.buildRequestId)
        return yield* Effect.raceFirst(
          settleWithDeps,
          Effect.as(Deferred.await(signal), {
            _tag: "Failed" as const,
            ref: run.outputs[0]!,
            reason: "build cancelled"
          })
        )
      })

    const process = (run: ClaimedRun, known: Option.Option<ReadonlyMap<string, JobRunRow>>) =>
      Effect.gen(function* () {
        const result = yield* settle(run, known)
        const finished = yield* queue.finish(worker, run, result)
        if (finished !== undefined && finished.remaining === 0)
          yield* BuildEnd.record(log, run.buildRequestId, finished.failures)
      }).pipe(
        Effect.catchAll((error) =>
          Effect.logError(`worker ${worker}: ${run.key} of ${run.buildRequestId}: ${error.message}`)
        ),
        // Interrupted means the worker is shutting down: the entry stays in `inflight` for the release
        // finalizer, which runs after the scope has interrupted these fibers.
        Effect.onExit((exit) =>
          Exit.isInterrupted(exit)
            ? Effect.void
            : Effect.zipRight(
                Effect.sync(() => inflight.delete(keyOf(run))),
                wakeup.signal
              )
        ),
        Spans.hot("Worker.settle", {
          attributes: { worker, buildRequestId: run.buildRequestId, run: run.key }
        })
      )

    for (;;) {
      const woken = yield* wakeup.next
      const free = concurrency - inflight.size
      // Claimed entries are known to the shutdown release before an interruption can land: a claim
      // interrupted half-way would otherwise stay held until its lease ran out.
      const claimed =
        free > 0
          ? yield* Effect.uninterruptible(
              Effect.tap(queue.claim(worker, free, leaseMs, claimer), (entries) =>
                Effect.sync(() => {
                  for (const entry of entries) inflight.set(keyOf(entry), entry)
                })
              )
            )
          : []
      // The prior runs the claim read, else one read for those of the whole batch; when it fails,
      // each run reads its own.
      const unread = claimed.filter((entry) => entry.read === undefined)
      const batch = unread.length === 0 ? Option.none() : yield* Effect.option(priorRuns(unread))
      for (const entry of claimed) {
        const known =
          entry.read === undefined
            ? batch
            : Option.some(new Map(entry.read.jobRuns.map((row) => [row.jobRunId, row] as const)))
        yield* Effect.forkScoped(process(entry, known))
      }
      if (claimed.length === 0 || inflight.size === concurrency) {
        yield* Effect.timeout(woken, pollInterval).pipe(Effect.ignore)
      }
    }
  }).pipe(Effect.scoped, Effect.withScheduler(EventLoop.fair))
