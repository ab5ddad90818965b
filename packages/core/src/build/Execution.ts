/**
 * Executing one build request: every planned job run settles as reused (historical delegation),
 * awaited (active delegation), or claimed and run here, in dependency order and up to the
 * concurrency limit. Every step is a conditional append, so concurrent builds in any number of
 * processes build each partition once.
 */
import { Clock, Deferred, Duration, Effect, Either, FiberSet, Random, Ref, Schema, Stream } from "effect"
import * as BuildEvent from "../event/BuildEvent.js"
import * as EventId from "../event/EventId.js"
import type { Graph } from "../graph/Graph.js"
import * as Plan from "../graph/Plan.js"
import { MissingDeps } from "../job/Job.js"
import { Manifest } from "../job/Manifest.js"
import { isFinalJobRunStatus } from "../event/Status.js"
import type { EventLogShape, ReadError, StoreError } from "../log/EventLog.js"
import type { PartitionRef } from "../partition/PartitionRef.js"
import { AvailableAtOrBefore, Claimable, HeldBy } from "../projection/Expectation.js"
import type { JobRunRow, PartitionRow } from "../projection/Views.js"
import { isLiveClaim } from "../projection/Views.js"
import { judge, type Verdict } from "./Freshness.js"
import * as Retry from "./Retry.js"

export interface BuildContext {
  readonly log: EventLogShape
  readonly graph: Graph
  readonly buildRequestId: string
  readonly retry: BuildEvent.RetryPolicy
  readonly leaseMs: number
  readonly concurrency: number
  /** This build's job runs already in the log: a resumed build continues their attempts. */
  readonly priorRuns: ReadonlyMap<string, JobRunRow>
}

export type Outcome =
  | { readonly _tag: "Available" }
  | { readonly _tag: "Failed"; readonly ref: string; readonly reason: string }

export interface Executed {
  readonly outcomes: ReadonlyMap<PartitionRef, Outcome>
  /** Job runs that ran a job here. */
  readonly built: number
  /** Job runs whose outputs were reused (historical) or built by another build (active). */
  readonly delegated: number
}

interface Node {
  readonly run: Plan.PlannedRun
  readonly done: Deferred.Deferred<Outcome>
  /** Inputs a run reported missing (`MissingDeps`), added to its declared inputs. */
  readonly extraInputs: Set<PartitionRef>
}

type Attempt =
  | { readonly _tag: "Done"; readonly outcome: Outcome }
  | { readonly _tag: "Conflict" }
  | { readonly _tag: "Missing"; readonly refs: ReadonlyArray<PartitionRef> }

const describeError = (error: unknown): string => {
  if (error instanceof Error) return error.message
  if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
  return String(error)
}

const decodeManifest = Schema.decodeUnknownEither(Manifest)

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Catalog rows of `refs`, in as few queries as the port's page limit allows. */
export const catalogRows = (log: EventLogShape, refs: Iterable<string>) =>
  Effect.gen(function* () {
    const rows = new Map<string, PartitionRow>()
    for (const chunk of chunksOf([...new Set(refs)], 5000)) {
      for (const row of (yield* log.partitions({ refs: chunk, limit: chunk.length })).items) rows.set(row.ref, row)
    }
    return rows
  })

export const execute = (ctx: BuildContext, plan: Plan.Plan): Effect.Effect<Executed, StoreError | ReadError> =>
  Effect.gen(function* () {
    const { log, buildRequestId } = ctx
    const nodes = new Map<string, Node>()
    const producers = new Map<string, string>(plan.producers)
    const fibers = yield* FiberSet.make<void>()
    const firstError = yield* Ref.make<StoreError | ReadError | undefined>(undefined)
    const permits = yield* Effect.makeSemaphore(ctx.concurrency)
    const counts = { built: 0, delegated: 0 }
    const announced = new Set<string>()

    const stamp = Effect.map(Clock.currentTimeMillis, (timestamp) => ({
      eventId: EventId.unsafeMake(timestamp),
      timestamp,
      buildRequestId
    }))
    const lease = Effect.map(Clock.currentTimeMillis, (now) => now + ctx.leaseMs)
    /**
     * Records facts whose refusal changes nothing for this build: a failure or release of outputs
     * another run took over after our lease ran out is refused, and rightly so.
     */
    const record = (events: ReadonlyArray<BuildEvent.BuildEvent>) =>
      log.append(events).pipe(
        Effect.asVoid,
        Effect.catchTags({
          AppendConflict: (refused) => Effect.logWarning(refused.message),
          InvalidTransition: (refused) => Effect.logWarning(refused.message)
        })
      )

    // A run's id is stable across resumes so attempts continue; a resumed build whose run already
    // ended (cancelled, or completed but now stale) starts a new id, as ended runs never change.
    const runIds = new Map<string, string>()
    const jobRunIdOf = (node: Node) => runIds.get(node.run.key) ?? `${buildRequestId}:${node.run.key}`
    const freshRunId = (node: Node) => {
      const base = `${buildRequestId}:${node.run.key}`
      let id = jobRunIdOf(node)
      for (let n = 2; isFinalJobRunStatus(ctx.priorRuns.get(id)?.status ?? "FAILED"); n++) id = `${base}#${n}`
      runIds.set(node.run.key, id)
      return id
    }
    const attempts = new Map([...ctx.priorRuns].map(([id, row]) => [id, row.attempt]))

    const runEvent = (
      node: Node,
      status: BuildEvent.JobRunStatusChanged["status"],
      attempt: number,
      extra: { message?: string; manifest?: Manifest; leaseExpiresAt?: number } = {}
    ) =>
      Effect.map(
        stamp,
        (s) =>
          new BuildEvent.JobRunStatusChanged({
            ...s,
            jobRunId: jobRunIdOf(node),
            jobName: node.run.job.name,
            jobVersion: node.run.job.version,
            outputs: node.run.outputs,
            inputs: [...node.run.inputs, ...node.extraInputs],
            attempt,
            status,
            ...extra
          })
      )
    const partitionEvents = (
      node: Node,
      status: BuildEvent.PartitionStatusChanged["status"],
      options: { jobRunId?: string; message?: string } = {}
    ) =>
      Effect.forEach(node.run.outputs, (partitionRef) =>
        Effect.map(stamp, (s) => new BuildEvent.PartitionStatusChanged({ ...s, partitionRef, status, ...options }))
      )

    const addNode = (run: Plan.PlannedRun): Effect.Effect<Node> =>
      Effect.gen(function* () {
        const existing = nodes.get(run.key)
        if (existing !== undefined) return existing
        const node: Node = { run, done: yield* Deferred.make<Outcome>(), extraInputs: new Set() }
        nodes.set(run.key, node)
        yield* FiberSet.run(
          fibers,
          settleNode(node).pipe(
            Effect.tap((outcome) => Deferred.succeed(node.done, outcome)),
            Effect.catchAll((error) =>
              Effect.zipRight(
                Ref.update(firstError, (first) => first ?? error),
                Deferred.succeed(node.done, { _tag: "Failed", ref: run.outputs[0]!, reason: error.message })
              )
            ),
            Effect.asVoid
          )
        )
        return node
      })

    const settleNode = (node: Node): Effect.Effect<Outcome, StoreError | ReadError> =>
      Effect.gen(function* () {
        for (const dep of node.run.dependsOn) {
          const upstream = yield* Deferred.await(nodes.get(dep)!.done)
          if (upstream._tag === "Failed") return yield* upstreamFailed(node, upstream)
        }
        let takeovers = 0
        for (;;) {
          const inputs = [...node.run.inputs, ...node.extraInputs]
          const head = yield* log.head
          const rows = yield* catalogRows(log, [...node.run.outputs, ...inputs])
          const now = yield* Clock.currentTimeMillis
          const verdicts = node.run.outputs.map((ref) => [ref, judge(node.run, rows.get(ref), rows, now)] as const)
          const fresh = verdicts.flatMap(([ref, v]) => (v._tag === "Fresh" ? [[ref, v.row] as const] : []))
          if (fresh.length === verdicts.length) {
            const reused = yield* reuse(node, fresh)
            if (reused) return { _tag: "Available" }
            continue
          }
          const held = verdicts.flatMap(([ref, v]) => (v._tag === "Held" ? [[ref, v.row] as const] : []))
          if (held.length > 0) {
            yield* delegate(held)
            const released = yield* waitForRelease(
              held.map(([ref]) => ref),
              head
            )
            if (released) takeovers++
            if (takeovers > (node.run.job.retry ?? ctx.retry).attempts + 1) {
              return yield* fail(
                node,
                `gave up after ${takeovers} takeovers of partitions other builds failed to build`
              )
            }
            continue
          }
          const attempt = yield* permits.withPermits(1)(build(node, verdicts))
          switch (attempt._tag) {
            case "Done":
              return attempt.outcome
            case "Conflict":
              continue
            case "Missing": {
              const upstream = yield* awaitMissing(node, attempt.refs)
              if (upstream !== undefined) return yield* upstreamFailed(node, upstream)
            }
          }
        }
      })

    /** Historical delegation: every output is AVAILABLE and fresh, so nothing is rebuilt. */
    const reuse = (node: Node, fresh: ReadonlyArray<readonly [PartitionRef, PartitionRow]>) =>
      Effect.gen(function* () {
        const events: Array<BuildEvent.BuildEvent> = []
        for (const [ref, row] of fresh) {
          events.push(
            new BuildEvent.Delegated({
              ...(yield* stamp),
              partitionRef: ref,
              toBuildRequestId: row.buildRequestId ?? buildRequestId,
              ...(row.jobRunId === undefined ? {} : { toJobRunId: row.jobRunId }),
              mode: "historical"
            })
          )
        }
        if (!attempts.has(jobRunIdOf(node)))
          events.push(yield* runEvent(node, "SKIPPED", 1, { message: "outputs are fresh" }))
        const expect = fresh.map(([ref, row]) => new AvailableAtOrBefore({ ref, maxSeq: row.lastAvailableSeq ?? 0 }))
        const result = yield* Effect.either(log.append(events, { expect }))
        if (Either.isLeft(result)) {
          if (result.left._tag === "StoreError") return yield* result.left
          return false
        }
        attempts.set(jobRunIdOf(node), attempts.get(jobRunIdOf(node)) ?? 1)
        counts.delegated++
        return true
      })

    /** Active delegation: another build's live job run holds these outputs; say so once per holder. */
    const delegate = (held: ReadonlyArray<readonly [PartitionRef, PartitionRow]>) =>
      Effect.gen(function* () {
        const events: Array<BuildEvent.BuildEvent> = []
        for (const [ref, row] of held) {
          const key = `${ref}@${row.jobRunId}`
          if (announced.has(key)) continue
          announced.add(key)
          events.push(
            new BuildEvent.Delegated({
              ...(yield* stamp),
              partitionRef: ref,
              toBuildRequestId: row.buildRequestId ?? buildRequestId,
              ...(row.jobRunId === undefined ? {} : { toJobRunId: row.jobRunId }),
              mode: "active"
            }),
            new BuildEvent.PartitionStatusChanged({
              ...(yield* stamp),
              partitionRef: ref,
              status: "DELEGATED",
              message: `being built by job run ${row.jobRunId} of build ${row.buildRequestId}`
            })
          )
        }
        if (events.length > 0) {
          yield* log.append(events).pipe(Effect.catchTag("AppendConflict", "InvalidTransition", () => Effect.void))
          counts.delegated++
        }
      })

    /**
     * Waits until none of `refs` is held under a live claim: woken by their next event, or when the
     * earliest lease runs out (expiry is not an event). True when a holder let go without finishing.
     */
    const waitForRelease = (refs: ReadonlyArray<PartitionRef>, after: number) =>
      Effect.gen(function* () {
        let cursor = after
        for (;;) {
          const head = yield* log.head
          const rows = yield* catalogRows(log, refs)
          const now = yield* Clock.currentTimeMillis
          const live = [...rows.values()].filter((row) => isLiveClaim(row, now))
          if (live.length === 0) {
            return [...rows.values()].some((row) => row.status !== "AVAILABLE")
          }
          const until = Math.min(...live.map((row) => row.leaseExpiresAt ?? now)) - now
          yield* Effect.raceFirst(
            log.tail({ partitionRefs: refs }, { after: cursor }).pipe(Stream.take(1), Stream.runDrain),
            Effect.sleep(Duration.millis(Math.max(10, until + 10)))
          )
          cursor = head
        }
      })

    /** Claims the outputs, then runs the job with heartbeats and retries while it holds them. */
    const build = (node: Node, verdicts: ReadonlyArray<readonly [PartitionRef, Verdict]>) =>
      Effect.gen(function* () {
        const jobRunId = freshRunId(node)
        const policy = node.run.job.retry ?? ctx.retry
        const first = (attempts.get(jobRunId) ?? 0) + 1
        const reasons = verdicts.flatMap(([ref, v]) => (v._tag === "Build" ? [`${ref}: ${v.reason}`] : []))
        const claim = [
          yield* runEvent(node, "SCHEDULED", first, { leaseExpiresAt: yield* lease, message: reasons.join("; ") }),
          ...(yield* partitionEvents(node, "SCHEDULED", { jobRunId }))
        ]
        const expect = node.run.outputs.map((ref) => new Claimable({ ref }))
        const claimed = yield* Effect.either(log.append(claim, { expect }))
        if (Either.isLeft(claimed)) {
          if (claimed.left._tag === "StoreError") return yield* claimed.left
          if (claimed.left._tag === "InvalidTransition") {
            const reason = `the log refused its claim: ${claimed.left.reason}`
            return { _tag: "Done", outcome: yield* fail(node, reason) } as Attempt
          }
          return { _tag: "Conflict" } as Attempt
        }
        attempts.set(jobRunId, first)
        const state = { attempt: first }
        const lost = yield* Deferred.make<string>()
        yield* heartbeat(node, lost).pipe(Effect.forkScoped)
        return yield* runAttempts(node, policy, state, lost).pipe(
          Effect.onInterrupt(() =>
            Effect.gen(function* () {
              const events = [
                ...(yield* partitionEvents(node, "FAILED", {
                  jobRunId,
                  message: "cancelled: released for others to build"
                })),
                yield* runEvent(node, "CANCELLED", state.attempt, { message: "build cancelled" })
              ]
              yield* record(events).pipe(
                Effect.catchAll((error) => Effect.logWarning(`could not release ${jobRunId}: ${error.message}`))
              )
            })
          )
        )
      }).pipe(Effect.scoped)

    /** Extends the lease every lease/3 while the run holds its outputs; a lost claim ends the run. */
    const heartbeat = (node: Node, lost: Deferred.Deferred<string>) => {
      const jobRunId = jobRunIdOf(node)
      const beat = Effect.gen(function* () {
        const event = new BuildEvent.JobRunHeartbeat({ ...(yield* stamp), jobRunId, leaseExpiresAt: yield* lease })
        const expect = node.run.outputs.map((ref) => new HeldBy({ ref, jobRunId }))
        const result = yield* Effect.either(log.append([event], { expect }))
        if (Either.isRight(result)) return true
        // A store that is briefly away is retried at the next beat, well within the lease.
        if (result.left._tag === "StoreError") {
          yield* Effect.logWarning(`heartbeat of ${jobRunId}: ${result.left.message}`)
          return true
        }
        yield* Deferred.succeed(lost, result.left.message)
        return false
      })
      return beat.pipe(
        Effect.delay(Duration.millis(Math.max(1, Math.floor(ctx.leaseMs / 3)))),
        Effect.repeat({ while: (alive) => alive })
      )
    }

    const runAttempts = (
      node: Node,
      policy: BuildEvent.RetryPolicy,
      state: { attempt: number },
      lost: Deferred.Deferred<string>
    ): Effect.Effect<Attempt, StoreError | ReadError> =>
      Effect.gen(function* () {
        const jobRunId = jobRunIdOf(node)
        for (;;) {
          const started = yield* Effect.either(
            log.append(
              [
                yield* runEvent(node, "RUNNING", state.attempt, { leaseExpiresAt: yield* lease }),
                ...(yield* partitionEvents(node, "BUILDING", { jobRunId }))
              ],
              { expect: node.run.outputs.map((ref) => new HeldBy({ ref, jobRunId })) }
            )
          )
          if (Either.isLeft(started)) {
            if (started.left._tag === "StoreError") return yield* started.left
            return { _tag: "Conflict" }
          }
          counts.built++
          const result = yield* Effect.raceFirst(
            invoke(node, state.attempt),
            Effect.map(Deferred.await(lost), (reason) => ({
              _tag: "Failure" as const,
              reason: `lost its claim: ${reason}`
            }))
          )
          switch (result._tag) {
            case "Success": {
              const done = yield* Effect.either(
                log.append([
                  yield* runEvent(node, "COMPLETED", state.attempt, { manifest: result.manifest }),
                  ...(yield* partitionEvents(node, "AVAILABLE", { jobRunId }))
                ])
              )
              if (Either.isLeft(done)) {
                if (done.left._tag === "StoreError") return yield* done.left
                // Another run took the partitions over after our lease ran out: its result stands.
                return { _tag: "Conflict" }
              }
              return { _tag: "Done", outcome: { _tag: "Available" } }
            }
            case "Missing": {
              const known = result.refs.filter((ref) => node.extraInputs.has(ref) || node.run.inputs.includes(ref))
              if (known.length === result.refs.length) {
                return yield* finalFailure(
                  node,
                  state.attempt,
                  `reported missing deps it already had: ${known.join(", ")}`
                )
              }
              for (const ref of result.refs) node.extraInputs.add(ref)
              yield* record([
                ...(yield* partitionEvents(node, "FAILED", { jobRunId, message: "waiting for missing dependencies" })),
                yield* runEvent(node, "FAILED", state.attempt, {
                  message: `missing dependencies: ${result.refs.join(", ")}`
                })
              ])
              return { _tag: "Missing", refs: result.refs }
            }
            case "Failure": {
              if (state.attempt >= policy.attempts || result.reason.startsWith("lost its claim")) {
                return yield* finalFailure(node, state.attempt, result.reason)
              }
              const delay = Retry.delayBefore(policy, state.attempt + 1, yield* Random.next)
              yield* record([
                yield* runEvent(node, "FAILED", state.attempt, { message: result.reason }),
                yield* runEvent(node, "SCHEDULED", state.attempt + 1, {
                  leaseExpiresAt: yield* lease,
                  message: `attempt ${state.attempt} failed; retrying in ${delay} ms`
                })
              ])
              state.attempt++
              attempts.set(jobRunId, state.attempt)
              yield* Effect.sleep(Duration.millis(delay))
            }
          }
        }
      })

    const invoke = (node: Node, attempt: number) =>
      Effect.gen(function* () {
        const inputs = [...node.run.inputs, ...node.extraInputs]
        const rows = yield* catalogRows(log, inputs)
        const inputManifests = new Map<PartitionRef, Manifest>()
        for (const ref of inputs) {
          const manifest = rows.get(ref)?.manifest
          if (manifest !== undefined) inputManifests.set(ref, manifest)
        }
        return yield* node.run.job
          .run({
            jobName: node.run.job.name,
            jobRunId: jobRunIdOf(node),
            buildRequestId,
            attempt,
            outputs: node.run.outputs,
            inputs,
            args: node.run.args,
            inputManifests
          })
          .pipe(
            Effect.map((output) =>
              Either.match(decodeManifest(output), {
                onLeft: () => ({
                  _tag: "Failure" as const,
                  reason: "the job returned a manifest that is not a JSON object"
                }),
                onRight: (manifest) => ({ _tag: "Success" as const, manifest })
              })
            ),
            Effect.catchAll((error) =>
              Effect.succeed(
                error instanceof MissingDeps
                  ? { _tag: "Missing" as const, refs: error.refs }
                  : { _tag: "Failure" as const, reason: describeError(error) }
              )
            ),
            Effect.catchAllDefect((defect) =>
              Effect.succeed({ _tag: "Failure" as const, reason: `the job crashed: ${describeError(defect)}` })
            )
          )
      }).pipe(
        Effect.catchAll((error) =>
          Effect.succeed({ _tag: "Failure" as const, reason: `reading inputs: ${error.message}` })
        )
      )

    const finalFailure = (node: Node, attempt: number, reason: string) =>
      Effect.gen(function* () {
        const jobRunId = jobRunIdOf(node)
        yield* record([
          yield* runEvent(node, "FAILED", attempt, { message: reason }),
          ...(yield* partitionEvents(node, "FAILED", { jobRunId, message: reason }))
        ])
        return { _tag: "Done", outcome: { _tag: "Failed", ref: node.run.outputs[0]!, reason } } as Attempt
      })

    const fail = (node: Node, reason: string) =>
      Effect.gen(function* () {
        yield* record(yield* partitionEvents(node, "FAILED", { message: reason }))
        return { _tag: "Failed", ref: node.run.outputs[0]!, reason } as Outcome
      })

    const upstreamFailed = (node: Node, upstream: Extract<Outcome, { _tag: "Failed" }>) =>
      Effect.gen(function* () {
        const reason = `upstream ${upstream.ref} failed`
        yield* record(yield* partitionEvents(node, "FAILED", { message: reason }))
        return { _tag: "Failed", ref: upstream.ref, reason: upstream.reason } as Outcome
      })

    /** Plans and starts what a run reported missing; the first failure among them, if any. */
    const awaitMissing = (node: Node, refs: ReadonlyArray<PartitionRef>) =>
      Effect.gen(function* () {
        const planned = Plan.plan(ctx.graph, refs)
        if (Either.isLeft(planned)) {
          return { _tag: "Failed" as const, ref: refs[0]!, reason: planned.left.message }
        }
        if (planned.right.producers.size > 0 && node.run.outputs.some((ref) => planned.right.producers.has(ref))) {
          return { _tag: "Failed" as const, ref: node.run.outputs[0]!, reason: "its missing dependencies depend on it" }
        }
        for (const [ref, key] of planned.right.producers) if (!producers.has(ref)) producers.set(ref, key)
        const waits: Array<Node> = []
        for (const key of planned.right.order) waits.push(yield* addNode(planned.right.runs.get(key)!))
        const sources = yield* catalogRows(log, planned.right.sources)
        const missingSource = [...planned.right.sources].find((ref) => sources.get(ref)?.status !== "AVAILABLE")
        if (missingSource !== undefined) {
          return {
            _tag: "Failed" as const,
            ref: missingSource,
            reason: `source partition ${missingSource} is not AVAILABLE`
          }
        }
        for (const dep of waits) {
          const outcome = yield* Deferred.await(dep.done)
          if (outcome._tag === "Failed") return outcome
        }
        return undefined
      })

    for (const key of plan.order) yield* addNode(plan.runs.get(key)!)
    yield* FiberSet.awaitEmpty(fibers)
    const error = yield* Ref.get(firstError)
    if (error !== undefined) return yield* error
    const outcomes = new Map<PartitionRef, Outcome>()
    for (const ref of plan.requested) {
      const key = producers.get(ref)
      outcomes.set(ref, key === undefined ? { _tag: "Available" } : yield* Deferred.await(nodes.get(key)!.done))
    }
    return { outcomes, built: counts.built, delegated: counts.delegated }
  }).pipe(Effect.scoped)
