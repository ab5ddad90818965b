/**
 * The heartbeats of every claim an executor or a worker holds, from one fiber: it wakes when the
 * earliest lease is due for extension and extends each due one with a conditional heartbeat,
 * concurrently, so the heartbeats of many runs share the store's group commit. A fiber and a
 * scope per run cost a fork, a timer and a finalizer for every job, most of which end long
 * before their first heartbeat.
 */
import { Clock, Deferred, Duration, Effect, Exit, type Fiber, type Scope } from "effect"
import * as BuildEvent from "../event/BuildEvent.js"
import * as EventId from "../event/EventId.js"
import type { EventLogShape } from "../log/EventLog.js"
import type { PartitionRef } from "../partition/PartitionRef.js"
import { HeldBy } from "../projection/Expectation.js"
import { trusted } from "./Settle.js"

/** A job run holding its outputs under a lease. */
export interface Claim {
  readonly buildRequestId: string
  readonly jobRunId: string
  readonly outputs: ReadonlyArray<PartitionRef>
  readonly leaseMs: number
  /** Called once, when the log refuses a heartbeat: the run no longer holds its outputs. */
  readonly onLost: (reason: string) => Effect.Effect<void>
}

export interface LeaseKeeper {
  /** Runs `self` while `claim`'s lease is extended every third of it; the first beat is due a third of a lease from now. */
  readonly keep: <A, E, R>(claim: Claim, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

interface Kept {
  readonly claim: Claim
  dueAt: number
}

/** How long after a beat (or the claim) the next one is due: a third of the lease. */
const intervalOf = (claim: Claim) => Math.max(1, Math.floor(claim.leaseMs / 3))

/** A keeper whose fiber lives in the current scope: it stops when the scope closes, or when it wakes to no claims. */
export const make = (log: EventLogShape): Effect.Effect<LeaseKeeper, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const kept = new Set<Kept>()
    let keeper: Fiber.RuntimeFiber<void> | undefined
    // When the keeper sleeps: until `wakeAt`, or until a claim due earlier resolves `wake`.
    let wakeAt = Number.POSITIVE_INFINITY
    let wake: Deferred.Deferred<void> | undefined

    const beat = (entry: Kept, now: number) => {
      const { claim } = entry
      entry.dueAt = now + intervalOf(claim)
      const event = new BuildEvent.JobRunHeartbeat(
        {
          eventId: EventId.unsafeMake(now),
          timestamp: now,
          buildRequestId: claim.buildRequestId,
          jobRunId: claim.jobRunId,
          leaseExpiresAt: now + claim.leaseMs
        },
        trusted
      )
      const expect = claim.outputs.map((ref) => new HeldBy({ ref, jobRunId: claim.jobRunId }, trusted))
      return log.append([event], { expect }).pipe(
        Effect.asVoid,
        // A store that is briefly away is tried again at the next beat, well within the lease.
        Effect.catchTag("StoreError", (error) => Effect.logWarning(`heartbeat of ${claim.jobRunId}: ${error.message}`)),
        Effect.catchAll((refused) => {
          if (!kept.delete(entry)) return Effect.void
          return claim.onLost(refused.message)
        }),
        // The keeper beats for every run: one append that dies must not stop the others' heartbeats.
        Effect.catchAllDefect((defect) => Effect.logError(`heartbeat of ${claim.jobRunId} died`, defect))
      )
    }

    const loop: Effect.Effect<void> = Effect.gen(function* () {
      for (;;) {
        if (kept.size === 0) {
          keeper = undefined
          wakeAt = Number.POSITIVE_INFINITY
          return
        }
        const now = yield* Clock.currentTimeMillis
        const due = [...kept].filter((entry) => entry.dueAt <= now)
        yield* Effect.forEach(due, (entry) => beat(entry, now), { concurrency: "unbounded", discard: true })
        let next = Number.POSITIVE_INFINITY
        for (const entry of kept) next = Math.min(next, entry.dueAt)
        if (next === Number.POSITIVE_INFINITY) continue
        wakeAt = next
        const woken = yield* Deferred.make<void>()
        wake = woken
        const after = yield* Clock.currentTimeMillis
        yield* Effect.raceFirst(Effect.sleep(Duration.millis(Math.max(1, next - after))), Deferred.await(woken))
        wake = undefined
      }
    })

    const register = (claim: Claim) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const entry: Kept = { claim, dueAt: now + intervalOf(claim) }
        kept.add(entry)
        if (keeper === undefined) {
          wakeAt = entry.dueAt
          return Effect.as(
            // Registered inside `keep`'s uninterruptible acquire, which a plain fork would pass on
            // to the keeper, and the scope's close would then wait on a nap nothing ends.
            Effect.tap(Effect.forkIn(Effect.interruptible(loop), scope), (fiber) => {
              keeper = fiber
            }),
            entry
          )
        }
        // A shorter lease than any held (another build's option) must not wait for the current nap.
        if (entry.dueAt < wakeAt && wake !== undefined) Deferred.unsafeDone(wake, Exit.void)
        return Effect.succeed(entry)
      })

    const keep = <A, E, R>(claim: Claim, self: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        register(claim),
        () => self,
        (entry) =>
          Effect.sync(() => {
            kept.delete(entry)
          })
      )

    return { keep }
  })
