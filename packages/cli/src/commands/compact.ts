import { Command, Options } from "@effect/cli"
import { Compaction } from "@tessera/core"
import { Console, Effect, Option } from "effect"
import * as Store from "../config/Store.js"
import { InvalidCompaction } from "../Errors.js"
import * as DeltaArchive from "../retention/DeltaArchive.js"
import { positive } from "./build.js"
import type { StoreDelta } from "./DeltaTable.js"
import { asCommandError, settings, shared } from "./Root.js"

/** A Delta log's compaction: its small files rewritten, every event kept. */
const compactFiles = (tablePath: string, minFiles: Option.Option<number>, asJson: boolean) =>
  Effect.gen(function* () {
    const delta: StoreDelta = yield* Effect.promise(() => import("@tessera/store-delta"))
    const result = yield* delta.DeltaEventLog.compactLog(tablePath, { minFiles: Option.getOrUndefined(minFiles) })
    const version = Option.getOrNull(result.version)
    yield* Console.log(
      asJson
        ? JSON.stringify({ version, removed: result.removed, added: result.added }, null, 2)
        : version === null
          ? "Nothing to compact: no day has enough small files."
          : `Compacted ${result.removed} files into ${result.added} at version ${version} ` +
            "(dataChange: false; run `tessera vacuum` to delete the old files once no reader needs them)."
    )
  })

const describeResult = (result: Compaction.Result, archive: string | undefined) =>
  result.removed === 0
    ? `Nothing to compact: no event of a finished build at or below seq ${result.through} is left in the log.`
    : `Removed ${result.removed} events of finished builds at or below seq ${result.through} ` +
      `(${result.heartbeats} heartbeats)` +
      (archive === undefined ? ", without an archive." : `, archived ${result.archived} to delta:${archive}.`) +
      " The views are unchanged: status and status --build answer as before."

export const compact = Command.make(
  "compact",
  {
    before: Options.text("before").pipe(
      Options.withDescription(
        "SQLite and PostgreSQL: move events of finished builds older than this out of the log: a duration " +
          "(7d, 12h, 30m) or a seq. Falls back to `retention.before` in tessera.config.ts"
      ),
      Options.optional
    ),
    archive: Options.text("archive").pipe(
      Options.withDescription(
        "With --before: append the compacted events to this Delta table (delta:PATH) instead of dropping them"
      ),
      Options.optional
    ),
    minFiles: Options.integer("min-files").pipe(
      Options.withSchema(positive("min-files")),
      Options.withDescription("Delta: a day is rewritten only when it has at least this many small files (default 10)"),
      Options.optional
    ),
    ...shared
  },
  (options) =>
    asCommandError(
      Effect.gen(function* () {
        const resolved = yield* settings(options, { retention: true })
        const spec = resolved.store
        const store = Store.describe(spec)
        if (spec._tag === "Delta") {
          if (Option.isSome(options.before) || Option.isSome(options.archive)) {
            return yield* new InvalidCompaction({
              store,
              reason:
                "--before and --archive move events out of SQLite and PostgreSQL logs; a Delta log is itself the " +
                "archive and keeps every event. Run `tessera compact` without them to rewrite its small files"
            })
          }
          return yield* compactFiles(spec.path, options.minFiles, options.json)
        }
        if (Option.isSome(options.minFiles)) {
          return yield* new InvalidCompaction({
            store,
            reason: "--min-files is for Delta logs, whose files it counts; give --before <duration|seq>"
          })
        }
        const policy = Option.getOrUndefined(resolved.retention)
        const before = Option.getOrUndefined(options.before) ?? policy?.before
        if (before === undefined) {
          return yield* new InvalidCompaction({
            store,
            reason:
              "say what is old enough with --before <duration|seq> (e.g. --before 7d), or set " +
              '`retention: { before: "7d" }` in tessera.config.ts'
          })
        }
        const bound = yield* Compaction.parseBound(before)
        const cwd = yield* Effect.sync(() => process.cwd())
        const folder = Option.isSome(options.archive)
          ? yield* DeltaArchive.parse(options.archive.value, cwd)
          : Option.isSome(options.before)
            ? undefined
            : policy?.archive
        const archive = folder === undefined ? undefined : yield* DeltaArchive.make(folder)
        const result = yield* Compaction.run(bound, { archive }).pipe(Effect.provide(Store.compactorLayer(spec)))
        yield* Console.log(
          options.json
            ? JSON.stringify({ ...result, archive: folder === undefined ? null : `delta:${folder}` }, null, 2)
            : describeResult(result, folder)
        )
      })
    )
).pipe(
  Command.withDescription(
    "SQLite and PostgreSQL: move old events of finished builds out of the log (to a Delta archive with " +
      "--archive), keeping every view. Delta: rewrite the log's small files into one per day"
  )
)
