/**
 * The local executor: settles every planned run of a build in this process, each once its
 * upstream runs are done, up to the concurrency limit; runs that report missing dependencies get
 * them planned and settled first.
 */
import { Cause, Deferred, Effect, Either, FiberSet, Ref } from "effect"
import type * as BuildEvent from "../event/BuildEvent.js"
import type { Graph } from "../graph/Graph.js"
import * as Plan from "../graph/Plan.js"
import type { EventLogShape, ReadError, StoreError } from "../log/EventLog.js"
import type { PartitionRef } from "../partition/PartitionRef.js"
import type { JobRunRow } from "../projection/Views.js"
import * as LeaseKeeper from "./LeaseKeeper.js"
import * as Permits from "./Permits.js"
import * as Settle from "./Settle.js"
import { catalogRows } from "./Settle.js"

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

export interface Executed {
  readonly outcomes: ReadonlyMap<PartitionRef, Settle.Outcome>
  /** Job runs that ran a job here, each once whatever its attempts. */
  readonly built: number
  /** Partitions reused (historical) or built by another build (active). */
  readonly delegated: number
}

/** A failure's message, or a defect's, for the log. */
export const describeCause = (cause: Cause.Cause<{ readonly message: string }>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return failure.value.message
  const defect = Cause.squash(cause)
  return `unexpected failure: ${defect instanceof Error ? defect.message : String(defect)}`
}

type Failed = Extract<Settle.Outcome, { _tag: "Failed" }>

/**
 * The plan for what a run with `outputs` reported missing (`refs`), or why it cannot be built: it
 * does not plan, it needs the run's own outputs, or a source it needs is not AVAILABLE.
 */
export const planMissing = (
  ctx: Pick<BuildContext, "log" | "graph">,
  outputs: ReadonlyArray<PartitionRef>,
  refs: ReadonlyArray<PartitionRef>
): Effect.Effect<Either.Either<Plan.Plan, Failed>, StoreError> =>
  Effect.gen(function* () {
    const planned = Plan.plan(ctx.graph, refs)
    if (Either.isLeft(planned))
      return Either.left({ _tag: "Failed" as const, ref: refs[0]!, reason: planned.left.message })
    if (outputs.some((ref) => planned.right.producers.has(ref))) {
      return Either.left({ _tag: "Failed" as const, ref: outputs[0]!, reason: "its missing dependencies depend on it" })
    }
    const sources = yield* catalogRows(ctx.log, planned.right.sources)
    const missingSource = [...planned.right.sources].find((ref) => sources.get(ref)?.status !== "AVAILABLE")
    if (missingSource !== undefined) {
      return Either.left({
        _tag: "Failed" as const,
        ref: missingSource,
        reason: `source partition ${missingSource} is not AVAILABLE`
      })
    }
    return Either.right(planned.right)
  })

interface Node extends Settle.RunNode {
  readonly done: Deferred.Deferred<Settle.Outcome>
}

export const execute = (ctx: BuildContext, plan: Plan.Plan): Effect.Effect<Executed, StoreError | ReadError> =>
  Effect.gen(function* () {
    const nodes = new Map<string, Node>()
    const producers = new Map<string, string>(plan.producers)
    const fibers = yield* FiberSet.make<void>()
    // The first store failure or defect of any run: the build ends with it once every run has settled.
    const firstError = yield* Ref.make<Cause.Cause<StoreError | ReadError> | undefined>(undefined)
    const settler = Settle.make({
      ...ctx,
      permits: yield* Permits.make(ctx.concurrency),
      leases: yield* LeaseKeeper.make(ctx.log)
    })

    const addNode = (run: Plan.PlannedRun): Effect.Effect<Node> =>
      Effect.gen(function* () {
        const existing = nodes.get(run.key)
        if (existing !== undefined) return existing
        const node: Node = { run, done: yield* Deferred.make<Settle.Outcome>(), extraInputs: new Set() }
        nodes.set(run.key, node)
        yield* FiberSet.run(
          fibers,
          settleNode(node).pipe(
            Effect.tap((outcome) => Deferred.succeed(node.done, outcome)),
            // Whatever ends a run's fiber, its dependents are told, so nothing waits on it forever.
            Effect.catchAllCause((cause) =>
              Cause.isInterruptedOnly(cause)
                ? Effect.failCause(cause)
                : Effect.zipRight(
                    Ref.update(firstError, (first) => first ?? cause),
                    Deferred.succeed(node.done, {
                      _tag: "Failed",
                      ref: run.outputs[0]!,
                      reason: describeCause(cause)
                    })
                  )
            ),
            Effect.asVoid
          )
        )
        return node
      })

    const settleNode = (node: Node): Effect.Effect<Settle.Outcome, StoreError | ReadError> =>
      Effect.gen(function* () {
        for (const dep of node.run.dependsOn) {
          const upstream = yield* Deferred.await(nodes.get(dep)!.done)
          if (upstream._tag === "Failed") return yield* settler.upstreamFailed(node, upstream)
        }
        for (;;) {
          const settled = yield* settler.settle(node)
          if (settled._tag !== "Missing") return settled
          const upstream = yield* awaitMissing(node, settled.refs)
          if (upstream !== undefined) return yield* settler.upstreamFailed(node, upstream)
        }
      })

    /** Plans and starts what a run reported missing; the first failure among them, if any. */
    const awaitMissing = (node: Node, refs: ReadonlyArray<PartitionRef>) =>
      Effect.gen(function* () {
        const planned = yield* planMissing(ctx, node.run.outputs, refs)
        if (Either.isLeft(planned)) return planned.left
        for (const [ref, key] of planned.right.producers) if (!producers.has(ref)) producers.set(ref, key)
        const waits: Array<Node> = []
        for (const key of planned.right.order) waits.push(yield* addNode(planned.right.runs.get(key)!))
        for (const dep of waits) {
          const outcome = yield* Deferred.await(dep.done)
          if (outcome._tag === "Failed") return outcome
        }
        return undefined
      })

    for (const key of plan.order) yield* addNode(plan.runs.get(key)!)
    yield* FiberSet.awaitEmpty(fibers)
    const error = yield* Ref.get(firstError)
    if (error !== undefined) return yield* Effect.failCause(error)
    const outcomes = new Map<PartitionRef, Settle.Outcome>()
    for (const ref of plan.requested) {
      const key = producers.get(ref)
      outcomes.set(ref, key === undefined ? { _tag: "Available" } : yield* Deferred.await(nodes.get(key)!.done))
    }
    return { outcomes, built: settler.counts.built, delegated: settler.counts.delegated }
  }).pipe(Effect.scoped)
