/**
 * Settling one job run: reuse its outputs (historical delegation), wait for another build's live
 * run (active delegation), or claim them and run the job with heartbeats and retries. Every step
 * is a conditional append, so any number of processes can settle runs of overlapping builds and
 * each partition is built once. The local executor and the distributed workers share this.
 */
import { Clock, Duration, Effect, Either, Exit, Fiber, Random, Stream } from "effect"
import * as BuildEvent from "../event/BuildEvent.js"
import * as EventId from "../event/EventId.js"
import { isFinalJobRunStatus } from "../event/Status.js"
import type * as Plan from "../graph/Plan.js"
import * as Job from "../job/Job.js"
import { MissingDeps } from "../job/Job.js"
import { type Manifest, notAManifest } from "../job/Manifest.js"
import type { EventLogShape, ReadError, StoreError } from "../log/EventLog.js"
import * as Queries from "../log/Queries.js"
import type { PartitionRef } from "../partition/PartitionRef.js"
import {
  AvailableAtOrBefore,
  Claimable,
  type Expectation,
  HeldBy,
  NotRebuiltAfter,
  Unchanged
} from "../projection/Expectation.js"
import type { JobRunRow, PartitionRow } from "../projection/Views.js"
import { isLiveClaim } from "../projection/Views.js"
import { judge, type Verdict } from "./Freshness.js"
import type { LeaseKeeper } from "./LeaseKeeper.js"
import type { Permits } from "./Permits.js"
import * as Metrics from "./Metrics.js"
import * as Retry from "./Retry.js"
import * as Spans from "../runtime/Spans.js"

export interface SettleContext {
  readonly log: EventLogShape
  readonly buildRequestId: string
  readonly retry: BuildEvent.RetryPolicy
  readonly leaseMs: number
  /** Slots for running jobs; a run holds one only while it holds its claim. */
  readonly permits: Permits
  /** Extends the leases of the claims this settler holds. */
  readonly leases: LeaseKeeper
  /** This build's job runs already in the log: a resumed build continues their attempts. */
  readonly priorRuns: ReadonlyMap<string, JobRunRow>
}

export type Outcome =
  | { readonly _tag: "Available" }
  | { readonly _tag: "Failed"; readonly ref: string; readonly reason: string }

/** A run to settle, and the inputs it reported missing (`MissingDeps`) on earlier attempts. */
export interface RunNode {
  readonly run: Plan.PlannedRun
  readonly extraInputs: Set<PartitionRef>
}

export type Settled = Outcome | { readonly _tag: "Missing"; readonly refs: ReadonlyArray<PartitionRef> }

/** The verdict on each output of a run, and the catalog rows it was judged from. */
interface Judged {
  readonly rows: ReadonlyMap<string, PartitionRow>
  readonly verdicts: ReadonlyArray<readonly [PartitionRef, Verdict]>
}

type Attempt =
  | { readonly _tag: "Done"; readonly outcome: Outcome }
  | { readonly _tag: "Conflict" }
  | { readonly _tag: "Missing"; readonly refs: ReadonlyArray<PartitionRef> }

/** The claim of a running job run: a heartbeat the log refused says why it was lost, and interrupts the attempt running then. */
interface Held {
  lost: string | undefined
  job: Fiber.RuntimeFiber<Invoked> | undefined
}

type Invoked =
  | { readonly _tag: "Success"; readonly manifest: Manifest }
  | { readonly _tag: "Failure"; readonly reason: string }
  | { readonly _tag: "Missing"; readonly refs: ReadonlyArray<PartitionRef> }

/**
 * Runs an attempt in a fiber of its own that a lost claim interrupts; one fork per attempt, where
 * racing it against the loss forked two. Each side sets its part before looking at the other's,
 * so a claim lost just as the attempt starts still stops it. An interrupted build stops the
 * attempt before it goes on, so the job never runs on after its partitions are released.
 */
const whileHeld = (held: Held, attempt: Effect.Effect<Invoked>) =>
  Effect.gen(function* () {
    if (held.lost !== undefined) return { _tag: "Failure", reason: `lost its claim: ${held.lost}` } as Invoked
    const fiber = yield* Effect.fork(attempt)
    held.job = fiber
    if (held.lost !== undefined) yield* Fiber.interruptFork(fiber)
    const exit = yield* Fiber.await(fiber).pipe(Effect.onInterrupt(() => Fiber.interrupt(fiber)))
    held.job = undefined
    if (Exit.isSuccess(exit)) return exit.value
    if (held.lost !== undefined) return { _tag: "Failure", reason: `lost its claim: ${held.lost}` } as Invoked
    return yield* Effect.failCause(exit.cause)
  })

const describeError = (error: unknown): string => {
  if (error instanceof Error) return error.message
  if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
  return String(error)
}

/** Catalog rows of `refs`, in as few queries as the port's page limit allows. */
export const catalogRows = (log: EventLogShape, refs: Iterable<string>) =>
  Effect.gen(function* () {
    const rows = new Map<string, PartitionRow>()
    for (const chunk of Queries.chunksOf([...new Set(refs)])) {
      for (const row of (yield* log.partitions({ refs: chunk, limit: chunk.length })).items) rows.set(row.ref, row)
    }
    return rows
  })

/** What failing a run without running it needs: its outputs. */
export interface OutputsOf {
  readonly run: { readonly outputs: ReadonlyArray<PartitionRef> }
}

export interface Settler {
  /**
   * Settles a run whose upstream runs are done. `catalog`, when given, is what the catalog held for
   * the run's outputs and inputs, read just before (a worker's claim reads it): the first judging
   * uses it rather than reading it again, and a claim on rows that changed since is refused and
   * judged again from a fresh read.
   */
  readonly settle: (
    node: RunNode,
    catalog?: ReadonlyArray<PartitionRow>
  ) => Effect.Effect<Settled, StoreError | ReadError>
  /** Marks a run's outputs FAILED in this build because an upstream partition failed. */
  readonly upstreamFailed: (
    node: OutputsOf,
    upstream: Extract<Outcome, { _tag: "Failed" }>
  ) => Effect.Effect<Outcome, StoreError>
  /** Marks a run's outputs FAILED in this build without running it. */
  readonly fail: (node: OutputsOf, reason: string) => Effect.Effect<Outcome, StoreError>
  /** Job runs this settler ran a job for (once each, whatever their attempts), and partitions it reused or delegated. */
  readonly counts: { readonly built: number; readonly delegated: number }
}

/**
 * The events and expectations a settler writes are built from values already typed and checked
 * (refs parsed, ids bounded, manifests vetted by `notAManifest`), so constructing them skips a
 * schema check that could only pass: at tens of microseconds each, it was a large share of a job's cost.
 */
export const trusted = { disableValidation: true } as const

export const make = (ctx: SettleContext): Settler => {
  const { log, buildRequestId } = ctx
  const counts = { built: 0, delegated: 0 }
  const announced = new Set<string>()
  // Partitions this build reused or left to another build, each counted once however often it waited.
  const handedOver = new Set<string>()

  // Events are stamped with a time read once per append, not once per event.
  const stamp = (timestamp: number) => ({ eventId: EventId.unsafeMake(timestamp), timestamp, buildRequestId })
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
  const jobRunIdOf = (node: RunNode) => runIds.get(node.run.key) ?? `${buildRequestId}:${node.run.key}`
  const freshRunId = (node: RunNode) => {
    const base = `${buildRequestId}:${node.run.key}`
    let id = jobRunIdOf(node)
    for (let n = 2; isFinalJobRunStatus(ctx.priorRuns.get(id)?.status ?? "FAILED"); n++) id = `${base}#${n}`
    runIds.set(node.run.key, id)
    return id
  }
  const attempts = new Map([...ctx.priorRuns].map(([id, row]) => [id, row.attempt]))

  const runEvent = (
    node: RunNode,
    status: BuildEvent.JobRunStatusChanged["status"],
    attempt: number,
    now: number,
    extra: { message?: string; manifest?: Manifest; leaseExpiresAt?: number } = {}
  ) =>
    new BuildEvent.JobRunStatusChanged(
      {
        ...stamp(now),
        jobRunId: jobRunIdOf(node),
        jobName: node.run.job.name,
        jobVersion: node.run.job.version,
        outputs: node.run.outputs,
        inputs: node.extraInputs.size === 0 ? node.run.inputs : [...node.run.inputs, ...node.extraInputs],
        attempt,
        status,
        ...extra
      },
      trusted
    )
  const partitionEvents = (
    node: { readonly run: { readonly outputs: ReadonlyArray<PartitionRef> } },
    status: BuildEvent.PartitionStatusChanged["status"],
    now: number,
    options: { jobRunId?: string; message?: string } = {}
  ) =>
    node.run.outputs.map(
      (partitionRef) =>
        new BuildEvent.PartitionStatusChanged({ ...stamp(now), partitionRef, status, ...options }, trusted)
    )

  /**
   * What this build should do with the run's outputs, judged from catalog rows read now: every
   * decision is appended conditional on exactly these rows, so a verdict that went stale is
   * refused by the store and judged again.
   */
  const judgeNow = (node: RunNode, known: ReadonlyMap<string, PartitionRow> | undefined) =>
    Effect.gen(function* () {
      const rows = known ?? (yield* catalogRows(log, [...node.run.outputs, ...node.run.inputs, ...node.extraInputs]))
      const now = yield* Clock.currentTimeMillis
      const verdicts = node.run.outputs.map((ref) => [ref, judge(node.run, rows.get(ref), rows, now)] as const)
      return { rows, verdicts } satisfies Judged
    })

  /** Settles a run whose upstream runs are done. */
  const settle = (
    node: RunNode,
    catalog?: ReadonlyArray<PartitionRow>
  ): Effect.Effect<Settled, StoreError | ReadError> =>
    Effect.gen(function* () {
      let takeovers = 0
      let known = catalog === undefined ? undefined : new Map(catalog.map((row) => [row.ref as string, row] as const))
      for (;;) {
        const judged = yield* judgeNow(node, known)
        known = undefined
        const fresh = judged.verdicts.flatMap(([ref, v]) => (v._tag === "Fresh" ? [[ref, v.row] as const] : []))
        if (fresh.length === judged.verdicts.length) {
          if (yield* reuse(node, fresh, judged.rows)) return { _tag: "Available" }
          continue
        }
        const held = judged.verdicts.flatMap(([ref, v]) => (v._tag === "Held" ? [[ref, v.row] as const] : []))
        if (held.length > 0) {
          if (!(yield* delegate(held))) continue
          const released = yield* waitForRelease(held.map(([ref]) => ref))
          if (released) takeovers++
          if (takeovers > (node.run.job.retry ?? ctx.retry).attempts + 1) {
            return yield* fail(node, `gave up after ${takeovers} takeovers of partitions other builds failed to build`)
          }
          continue
        }
        // The verdict may go stale while the run waits for a slot (another process may build the
        // outputs or claim them meanwhile); the claim is conditional on the rows it was judged from,
        // so a stale one is refused and judged again. Judging again after every wait read the
        // catalog twice for most runs of a build larger than its concurrency.
        const attempt = yield* ctx.permits.withPermit(build(node, judged))
        if (attempt._tag === "Done") return attempt.outcome
        if (attempt._tag === "Missing") return attempt
      }
    })

  /** This build hands `ref` to the run that holds or built it. */
  const delegated = (ref: PartitionRef, row: PartitionRow, mode: BuildEvent.Delegated["mode"], now: number) =>
    new BuildEvent.Delegated(
      {
        ...stamp(now),
        partitionRef: ref,
        toBuildRequestId: row.buildRequestId ?? buildRequestId,
        ...(row.jobRunId === undefined ? {} : { toJobRunId: row.jobRunId }),
        mode
      },
      trusted
    )

  /**
   * Historical delegation: every output is AVAILABLE and fresh, so nothing is rebuilt. Conditional on
   * what made them fresh: no output rebuilt or invalidated, no input rebuilt since.
   */
  const reuse = (
    node: RunNode,
    fresh: ReadonlyArray<readonly [PartitionRef, PartitionRow]>,
    rows: ReadonlyMap<string, PartitionRow>
  ) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const events: Array<BuildEvent.BuildEvent> = fresh.map(([ref, row]) => delegated(ref, row, "historical", now))
      if (!attempts.has(jobRunIdOf(node)))
        events.push(runEvent(node, "SKIPPED", 1, now, { message: "outputs are fresh" }))
      const expect: Array<Expectation> = fresh.map(
        ([ref, row]) => new AvailableAtOrBefore({ ref, maxSeq: row.lastAvailableSeq ?? 0 }, trusted)
      )
      for (const input of node.run.inputs) {
        expect.push(new NotRebuiltAfter({ ref: input, seq: rows.get(input)?.lastAvailableSeq ?? 0 }, trusted))
      }
      const result = yield* Effect.either(log.append(events, { expect }))
      if (Either.isLeft(result)) {
        if (result.left._tag === "StoreError") return yield* result.left
        return false
      }
      attempts.set(jobRunIdOf(node), attempts.get(jobRunIdOf(node)) ?? 1)
      for (const [ref] of fresh) handedOver.add(ref)
      counts.delegated = handedOver.size
      return true
    })

  /**
   * Active delegation: another build's live job run holds these outputs; say so once per holder,
   * conditional on the holder still holding them. False when the store refused: judge again.
   */
  const delegate = (held: ReadonlyArray<readonly [PartitionRef, PartitionRow]>) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const events: Array<BuildEvent.BuildEvent> = []
      const expect: Array<Expectation> = []
      const keys: Array<string> = []
      for (const [ref, row] of held) {
        const key = `${ref}@${row.jobRunId}`
        if (announced.has(key) || row.jobRunId === undefined) continue
        keys.push(key)
        expect.push(new HeldBy({ ref, jobRunId: row.jobRunId }, trusted))
        events.push(
          delegated(ref, row, "active", now),
          new BuildEvent.PartitionStatusChanged(
            {
              ...stamp(now),
              partitionRef: ref,
              status: "DELEGATED",
              message: `being built by job run ${row.jobRunId} of build ${row.buildRequestId}`
            },
            trusted
          )
        )
      }
      if (events.length === 0) return true
      const result = yield* Effect.either(log.append(events, { expect }))
      if (Either.isLeft(result)) {
        if (result.left._tag === "StoreError") return yield* result.left
        return false
      }
      for (const key of keys) announced.add(key)
      for (const [ref] of held) handedOver.add(ref)
      counts.delegated = handedOver.size
      return true
    })

  /**
   * Waits until none of `refs` is held under a live claim: woken by their next event, or when the
   * earliest lease runs out (expiry is not an event). True when a holder let go without finishing.
   * Each round reads the head before the rows, so the tail after it sees every change the rows
   * may not show; judging a run reads no head, since most runs never wait.
   */
  const waitForRelease = (refs: ReadonlyArray<PartitionRef>) =>
    Effect.gen(function* () {
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
          log.tail({ partitionRefs: refs }, { after: head }).pipe(Stream.take(1), Stream.runDrain),
          Effect.sleep(Duration.millis(Math.max(10, until + 10)))
        )
      }
    })

  /** Claims the outputs, then runs the job with heartbeats and retries while it holds them. */
  const build = (node: RunNode, judged: Judged) =>
    Effect.gen(function* () {
      const { verdicts, rows } = judged
      const jobRunId = freshRunId(node)
      const policy = node.run.job.retry ?? ctx.retry
      const first = (attempts.get(jobRunId) ?? 0) + 1
      const reasons = verdicts.flatMap(([ref, v]) => (v._tag === "Build" ? [`${ref}: ${v.reason}`] : []))
      // The run holds a concurrency slot already, so it starts at once: claiming and starting are one
      // conditional append, which saves a durable write per job.
      const now = yield* Clock.currentTimeMillis
      const leaseExpiresAt = now + ctx.leaseMs
      const claim = [
        runEvent(node, "SCHEDULED", first, now, { leaseExpiresAt, message: reasons.join("; ") }),
        ...partitionEvents(node, "SCHEDULED", now, { jobRunId }),
        runEvent(node, "RUNNING", first, now, { leaseExpiresAt }),
        ...partitionEvents(node, "BUILDING", now, { jobRunId })
      ]
      // Conditional on the rows the verdict read (nobody built, claimed or took over an output since),
      // and on no live claim by the store's clock, which judges an expired lease as expired.
      const expect = node.run.outputs.flatMap((ref) => [
        new Unchanged({ ref, updatedSeq: rows.get(ref)?.updatedSeq ?? 0 }, trusted),
        new Claimable({ ref }, trusted)
      ])
      // Claimed and released as one region: an interruption (a cancel, SIGTERM) that arrives while the
      // claim is in flight waits for its answer, so a claim that landed is always released, never left
      // to hold its partitions until the lease runs out.
      return yield* Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const claimed = yield* Effect.either(log.append(claim, { expect }))
          if (Either.isLeft(claimed)) {
            if (claimed.left._tag === "StoreError") return yield* claimed.left
            if (claimed.left._tag === "InvalidTransition") {
              const reason = `the log refused its claim: ${claimed.left.reason}`
              return { _tag: "Done", outcome: yield* restore(fail(node, reason)) } as Attempt
            }
            return { _tag: "Conflict" } as Attempt
          }
          attempts.set(jobRunId, first)
          counts.built++
          const state = { attempt: first, started: true }
          const held: Held = { lost: undefined, job: undefined }
          const kept = {
            buildRequestId,
            jobRunId,
            outputs: node.run.outputs,
            leaseMs: ctx.leaseMs,
            onLost: (reason: string) =>
              Effect.suspend(() => {
                held.lost = reason
                return held.job === undefined ? Effect.void : Fiber.interruptFork(held.job)
              })
          }
          return yield* restore(ctx.leases.keep(kept, runAttempts(node, policy, state, held))).pipe(
            Effect.onInterrupt(() =>
              Effect.gen(function* () {
                const now = yield* Clock.currentTimeMillis
                const events = [
                  ...partitionEvents(node, "FAILED", now, {
                    jobRunId,
                    message: "cancelled: released for others to build"
                  }),
                  runEvent(node, "CANCELLED", state.attempt, now, { message: "build cancelled" })
                ]
                yield* record(events).pipe(
                  Effect.catchAll((error) => Effect.logWarning(`could not release ${jobRunId}: ${error.message}`))
                )
              })
            )
          )
        })
      )
    })

  const runAttempts = (
    node: RunNode,
    policy: BuildEvent.RetryPolicy,
    state: { attempt: number; started: boolean },
    held: Held
  ): Effect.Effect<Attempt, StoreError | ReadError> =>
    Effect.gen(function* () {
      const jobRunId = jobRunIdOf(node)
      for (;;) {
        // The first attempt started with the claim; a retry starts here, if the run still holds its outputs.
        if (!state.started) {
          const now = yield* Clock.currentTimeMillis
          const started = yield* Effect.either(
            log.append(
              [
                runEvent(node, "RUNNING", state.attempt, now, { leaseExpiresAt: now + ctx.leaseMs }),
                ...partitionEvents(node, "BUILDING", now, { jobRunId })
              ],
              { expect: node.run.outputs.map((ref) => new HeldBy({ ref, jobRunId }, trusted)) }
            )
          )
          if (Either.isLeft(started)) {
            if (started.left._tag === "StoreError") return yield* started.left
            return { _tag: "Conflict" }
          }
        }
        state.started = false
        const result = yield* whileHeld(held, invoke(node, state.attempt))
        const now = yield* Clock.currentTimeMillis
        switch (result._tag) {
          case "Success": {
            const done = yield* Effect.either(
              log.append([
                runEvent(node, "COMPLETED", state.attempt, now, { manifest: result.manifest }),
                ...partitionEvents(node, "AVAILABLE", now, { jobRunId })
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
              ...partitionEvents(node, "FAILED", now, { jobRunId, message: "waiting for missing dependencies" }),
              runEvent(node, "FAILED", state.attempt, now, {
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
              runEvent(node, "FAILED", state.attempt, now, { message: result.reason }),
              runEvent(node, "SCHEDULED", state.attempt + 1, now, {
                leaseExpiresAt: now + ctx.leaseMs,
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

  const invoke = (node: RunNode, attempt: number) =>
    Effect.gen(function* () {
      const inputs = [...node.run.inputs, ...node.extraInputs]
      const rows = yield* catalogRows(log, inputs)
      const inputManifests = new Map<PartitionRef, Manifest>()
      for (const ref of inputs) {
        const manifest = rows.get(ref)?.manifest
        if (manifest !== undefined) inputManifests.set(ref, manifest)
      }
      return yield* Job.invoke(node.run.job, {
        jobName: node.run.job.name,
        jobRunId: jobRunIdOf(node),
        buildRequestId,
        attempt,
        outputs: node.run.outputs,
        inputs,
        args: node.run.args,
        inputManifests
      }).pipe(
        Effect.map((output) => {
          const wrong = notAManifest(output)
          return wrong === undefined
            ? { _tag: "Success" as const, manifest: output as Manifest }
            : { _tag: "Failure" as const, reason: `the job returned a manifest JSON cannot carry: ${wrong}` }
        }),
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
      ),
      Metrics.timedJob(node.run.job.name),
      Spans.hot("tessera.job", {
        attributes: {
          jobRunId: jobRunIdOf(node),
          job: node.run.job.name,
          version: node.run.job.version,
          attempt,
          refs: node.run.outputs.join(" "),
          buildRequestId,
          store: log.store
        }
      })
    )

  const finalFailure = (node: RunNode, attempt: number, reason: string) =>
    Effect.gen(function* () {
      const jobRunId = jobRunIdOf(node)
      const now = yield* Clock.currentTimeMillis
      yield* record([
        runEvent(node, "FAILED", attempt, now, { message: reason }),
        ...partitionEvents(node, "FAILED", now, { jobRunId, message: reason })
      ])
      return { _tag: "Done", outcome: { _tag: "Failed", ref: node.run.outputs[0]!, reason } } as Attempt
    })

  const fail = (node: OutputsOf, reason: string) =>
    Effect.gen(function* () {
      yield* record(partitionEvents(node, "FAILED", yield* Clock.currentTimeMillis, { message: reason }))
      return { _tag: "Failed", ref: node.run.outputs[0]!, reason } as Outcome
    })

  const upstreamFailed = (node: OutputsOf, upstream: Extract<Outcome, { _tag: "Failed" }>) =>
    Effect.gen(function* () {
      const reason = `upstream ${upstream.ref} failed`
      yield* record(partitionEvents(node, "FAILED", yield* Clock.currentTimeMillis, { message: reason }))
      return { _tag: "Failed", ref: upstream.ref, reason: upstream.reason } as Outcome
    })

  return { settle, upstreamFailed, fail, counts }
}
