/**
 * The retention policy of `tessera.config.ts` (`retention: { before: "7d", every: "1h", archive?:
 * "delta:PATH" }`) and the effect that runs it on its timetable. `run` never ends and never fails:
 * a daemon forks it as one fiber beside its sensors and schedules, and a failed compaction (a lost
 * connection, a full disk) is logged and tried again at the next tick, as Dagster's and Temporal's
 * retention jobs do.
 */
import { Compaction } from "@tessera/core"
import { type Duration, Effect, Either } from "effect"
import * as DeltaArchive from "./DeltaArchive.js"

export interface Policy {
  /** What is old enough to compact, as the config wrote it ("7d") and parsed. */
  readonly before: string
  readonly bound: Compaction.Bound
  /** How long between two compactions. */
  readonly every: Duration.Duration
  /** The archive's folder; events are dropped when absent. */
  readonly archive?: string | undefined
}

/** The policy in a config file's `retention` value, or why it is not one; `archive` is resolved from `base`. */
export const parse = (value: unknown, base: string): Either.Either<Policy, string> => {
  if (typeof value !== "object" || value === null) return Either.left("retention must be an object")
  const { before, every, archive } = value as { before?: unknown; every?: unknown; archive?: unknown }
  if (typeof before !== "string") return Either.left('retention.before must be a string such as "7d" or a seq')
  const bound = Compaction.parseBound(before)
  if (Either.isLeft(bound)) return Either.left(`retention.before: ${bound.left.message}`)
  const interval = Compaction.parseDuration(typeof every === "string" ? every : "1h")
  if (every !== undefined && typeof every !== "string")
    return Either.left('retention.every must be a string such as "1h"')
  if (Either.isLeft(interval)) return Either.left(`retention.every: ${interval.left.message}`)
  if (archive !== undefined && typeof archive !== "string") return Either.left('retention.archive must be "delta:PATH"')
  const folder = archive === undefined ? Either.right(undefined) : DeltaArchive.parse(archive, base)
  if (Either.isLeft(folder)) return Either.left(`retention.archive: ${folder.left.message}`)
  return Either.right({ before, bound: bound.right, every: interval.right, archive: folder.right })
}

/** One compaction by the policy, with its archive when it names one. */
export const runOnce = (
  policy: Policy
): Effect.Effect<Compaction.Result, Compaction.CompactionError, Compaction.Compactor> =>
  Effect.gen(function* () {
    const archive = policy.archive === undefined ? undefined : yield* DeltaArchive.make(policy.archive)
    return yield* Compaction.run(policy.bound, { archive })
  }).pipe(Effect.withSpan("Retention.runOnce", { attributes: { before: policy.before } }))

/** The policy on its timetable: a compaction now, then one every `policy.every`, forever. */
export const run = (policy: Policy): Effect.Effect<never, never, Compaction.Compactor> =>
  runOnce(policy).pipe(
    Effect.tap((result) =>
      Effect.logInfo(
        `retention: removed ${result.removed} events (${result.heartbeats} heartbeats, ${result.archived} archived) ` +
          `of finished builds through seq ${result.through}`
      )
    ),
    Effect.catchAll((error) => Effect.logWarning(`retention: compaction failed, trying again later: ${error.message}`)),
    Effect.zipRight(Effect.sleep(policy.every)),
    Effect.forever
  )
