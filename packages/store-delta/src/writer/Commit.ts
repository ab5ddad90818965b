import { Effect, Option } from "effect"
import { randomUUID } from "node:crypto"
import * as NodeFsSync from "node:fs"
import * as Path from "node:path"
import { ConcurrentModification, type CorruptCommit, DeltaIOError } from "../Errors.js"
import { createDurable, errorCode, type NewFile, removeFile, syncDir } from "../Fs.js"
import { type Action, actionToJson } from "../reader/Actions.js"
import { commitFileName, logDir } from "../reader/Listing.js"
import { readCommit } from "../reader/Snapshot.js"

/** Serializes actions as a commit file: one JSON object per line. */
export const serializeActions = (actions: ReadonlyArray<Action>): string =>
  actions.map((action) => JSON.stringify(actionToJson(action))).join("\n") + "\n"

/**
 * Writes `content` as commit `version` only if no commit of that version exists. The temp file is
 * fsynced before `link`, so the version name never points at a partial commit; `link` fails with
 * EEXIST when another writer got there first, which on a local or POSIX file system is atomic; the
 * log folder is fsynced after, so a commit that was reported is one a power loss keeps. The link and
 * the temp file's unlink are synchronous calls (microseconds on a local disk; see `Fs`).
 *
 * `files` (the data files the commit names) are written with the temp file and flushed with it:
 * both must be durable before the link, and neither before the other, so their fsyncs overlap
 * instead of queueing (two flushes per commit where there were three).
 */
export const putIfAbsent = (
  tablePath: string,
  version: number,
  content: string,
  files: ReadonlyArray<NewFile> = []
): Effect.Effect<boolean, DeltaIOError> => {
  const dir = logDir(tablePath)
  const temp = Path.join(dir, `.${commitFileName(version)}.${randomUUID()}.tmp`)
  const target = Path.join(dir, commitFileName(version))
  // Once a won commit dropped the temp name, the release has nothing to remove (a second unlink would
  // fail, and build its error, on every commit).
  let removed = false
  const dropTemp = removeFile(temp).pipe(
    Effect.tap(() =>
      Effect.sync(() => {
        removed = true
      })
    )
  )
  return Effect.acquireUseRelease(
    createDurable([{ path: temp, data: content, named: false }, ...files]),
    () =>
      Effect.try({
        try: () => {
          NodeFsSync.linkSync(temp, target)
          return true
        },
        catch: (cause) => cause
      }).pipe(
        Effect.catchAll((cause) =>
          errorCode(cause) === "EEXIST"
            ? Effect.succeed(false)
            : Effect.fail(new DeltaIOError({ path: target, operation: "link", reason: String(cause) }))
        ),
        // The temp name goes before the folder's flush, so the one flush makes both changes durable.
        Effect.tap((won) => (won ? Effect.zipRight(dropTemp, syncDir(dir)) : Effect.void))
      ),
    () => (removed ? Effect.void : dropTemp.pipe(Effect.orDie))
  )
}

export interface CommitOutcome<A> {
  readonly version: number
  readonly result: A
}

export interface CommitPlan<A, E, R> {
  /** The version the caller read; the first attempt is at `readVersion + 1`. */
  readonly readVersion: number
  /** The actions to commit at `version` (commitInfo excluded), or `None` when there is nothing left to do. */
  readonly prepare: (
    version: number
  ) => Effect.Effect<Option.Option<{ actions: ReadonlyArray<Action>; result: A }>, E, R>
  /** Called with each winning commit before retrying one version later; fails to give up. */
  readonly onLost: (
    version: number,
    winner: ReadonlyArray<Action>
  ) => Effect.Effect<void, E | ConcurrentModification, R>
  readonly commitInfo: (version: number) => Record<string, unknown>
  /** Written with the first attempt's commit (see `putIfAbsent`): the data files the commit names. */
  readonly files?: ReadonlyArray<NewFile>
}

/** Commits with optimistic concurrency: on a lost race, learn the winner, re-plan, try the next version. */
export const commitLoop = <A, E, R>(
  tablePath: string,
  plan: CommitPlan<A, E, R>
): Effect.Effect<Option.Option<CommitOutcome<A>>, E | ConcurrentModification | CorruptCommit | DeltaIOError, R> =>
  Effect.gen(function* () {
    let version = plan.readVersion + 1
    let files = plan.files ?? []
    while (true) {
      const prepared = yield* plan.prepare(version)
      if (Option.isNone(prepared)) return Option.none()
      const { actions, result } = prepared.value
      const commitInfo: Action = {
        _tag: "commitInfo",
        commitInfo: { timestamp: Date.now(), ...plan.commitInfo(version), readVersion: version - 1 }
      }
      const won = yield* putIfAbsent(tablePath, version, serializeActions([commitInfo, ...actions]), files)
      files = []
      if (won) return Option.some({ version, result })
      const winner = yield* readCommit(tablePath, version)
      if (Option.isNone(winner)) {
        return yield* new DeltaIOError({
          path: tablePath,
          operation: "commit",
          reason: `commit ${version} existed when linking but cannot be read now`
        })
      }
      yield* plan.onLost(version, winner.value)
      version++
    }
  })

/** The standard conflict rule for writers that only add files: a winner that changed the table definition aborts. */
export const rejectMetadataChange = (tablePath: string, version: number, winner: ReadonlyArray<Action>) =>
  winner.some((action) => action._tag === "metaData" || action._tag === "protocol")
    ? Effect.fail(
        new ConcurrentModification({ path: tablePath, version, reason: "changed the table's schema or protocol" })
      )
    : Effect.void
