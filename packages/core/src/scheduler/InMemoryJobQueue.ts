/**
 * The in-memory job queue: the reference implementation of the `JobQueue` port, for workers that
 * share one process (and for tests). The PostgreSQL queue behaves the same across processes.
 */
import { Clock, Effect, Layer, PubSub, Stream } from "effect"
import {
  type ClaimedRun,
  type Finished,
  runsAsPlanned,
  JobQueue,
  type JobQueueShape,
  type QueuedRun,
  type RunResult
} from "./JobQueue.js"

interface Entry {
  readonly run: QueuedRun
  readonly order: number
  status: "blocked" | "ready" | "running" | "done" | "failed"
  pending: Set<string>
  worker?: string | undefined
  leaseUntil?: number | undefined
  /** When it last became claimable (enqueued ready, unblocked or given back); a lapsed lease counts from its end. */
  readySince: number
  upstreamFailed?: { readonly ref: string; readonly reason: string } | undefined
  failure?: { readonly ref: string; readonly reason: string } | undefined
}

/** Where a build's entries stand: unfinished runs and failures. */
const standing = (build: ReadonlyArray<Entry>): Finished => ({
  remaining: build.filter((e) => e.status !== "done" && e.status !== "failed").length,
  failures: build.flatMap((e) => (e.failure === undefined ? [] : [{ key: e.run.key, ...e.failure }]))
})

const idOf = (run: { readonly buildRequestId: string; readonly key: string }) => `${run.buildRequestId}\u0000${run.key}`

export const make: Effect.Effect<JobQueueShape> = Effect.gen(function* () {
  const entries = new Map<string, Entry>()
  const signals = yield* PubSub.sliding<void>(1)
  let order = 0
  const wake = PubSub.publish(signals, undefined)

  const enqueue: JobQueueShape["enqueue"] = (runs) =>
    Effect.zipRight(
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          for (const run of runs) {
            const id = idOf(run)
            if (entries.has(id)) continue
            const entry: Entry = { run, order: order++, status: "ready", pending: new Set(), readySince: now }
            for (const dep of run.dependsOn) {
              const upstream = entries.get(idOf({ buildRequestId: run.buildRequestId, key: dep }))
              if (upstream?.status === "failed") entry.upstreamFailed ??= upstream.failure
              else if (upstream?.status !== "done") entry.pending.add(dep)
            }
            if (entry.pending.size > 0) entry.status = "blocked"
            entries.set(id, entry)
          }
        })
      ),
      wake
    )

  const claim: JobQueueShape["claim"] = (worker, max, leaseMs, claimer) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        const ours = (e: Entry) =>
          claimer === undefined ||
          runsAsPlanned(claimer.jobs, e.run) ||
          Math.max(e.readySince, e.leaseUntil ?? 0) < now - claimer.waitMs
        const claimable = [...entries.values()]
          .filter((e) => e.status === "ready" || (e.status === "running" && (e.leaseUntil ?? 0) < now))
          .filter(ours)
          .sort((a, b) => a.order - b.order)
          .slice(0, max)
        return claimable.map((entry): ClaimedRun => {
          entry.status = "running"
          entry.worker = worker
          entry.leaseUntil = now + leaseMs
          return {
            ...entry.run,
            ...(entry.upstreamFailed === undefined ? {} : { upstreamFailed: entry.upstreamFailed })
          }
        })
      })
    )

  const held = (worker: string, run: { readonly buildRequestId: string; readonly key: string }) => {
    const entry = entries.get(idOf(run))
    return entry?.status === "running" && entry.worker === worker ? entry : undefined
  }

  const extend: JobQueueShape["extend"] = (worker, runs, leaseMs) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        const lost: Array<string> = []
        for (const run of runs) {
          const entry = held(worker, run)
          if (entry === undefined) lost.push(run.key)
          else entry.leaseUntil = now + leaseMs
        }
        return lost
      })
    )

  const finish: JobQueueShape["finish"] = (worker, run, result: RunResult) =>
    Effect.zipLeft(
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync((): Finished | undefined => {
          const entry = held(worker, run)
          if (entry === undefined) return undefined
          entry.status = result._tag === "Available" ? "done" : "failed"
          entry.worker = undefined
          if (result._tag === "Failed") entry.failure = { ref: result.ref, reason: result.reason }
          const build = [...entries.values()].filter((e) => e.run.buildRequestId === run.buildRequestId)
          for (const dependent of build) {
            if (!dependent.pending.delete(run.key)) continue
            if (entry.failure !== undefined) dependent.upstreamFailed ??= entry.failure
            if (dependent.pending.size === 0 && dependent.status === "blocked") {
              dependent.status = "ready"
              dependent.readySince = now
            }
          }
          return standing(build)
        })
      ),
      wake
    )

  const release: JobQueueShape["release"] = (worker, runs) =>
    Effect.zipRight(
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          for (const run of runs) {
            const entry = held(worker, run)
            if (entry === undefined) continue
            entry.status = "ready"
            entry.worker = undefined
            entry.leaseUntil = undefined
            entry.readySince = now
          }
        })
      ),
      wake
    )

  const progress: JobQueueShape["progress"] = (buildRequestId) =>
    Effect.sync(() => {
      const build = [...entries.values()].filter((e) => e.run.buildRequestId === buildRequestId)
      return build.length === 0 ? undefined : standing(build)
    })

  const depth: JobQueueShape["depth"] = Effect.sync(() => {
    let ready = 0
    let running = 0
    for (const entry of entries.values()) {
      if (entry.status === "ready") ready++
      else if (entry.status === "running") running++
    }
    return { ready, running }
  })

  return { enqueue, claim, extend, finish, progress, depth, release, wakeups: Stream.fromPubSub(signals) }
})

export const layer: Layer.Layer<JobQueue> = Layer.effect(JobQueue, make)
