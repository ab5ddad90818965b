import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { positive } from "./build.js"
import { withDeltaTable } from "./DeltaTable.js"
import { shared } from "./Root.js"

export const compact = Command.make(
  "compact",
  {
    minFiles: Options.integer("min-files").pipe(
      Options.withSchema(positive("min-files")),
      Options.withDescription("A day is rewritten only when it has at least this many small files (default 10)"),
      Options.optional
    ),
    ...shared
  },
  (options) =>
    withDeltaTable("compact", options, (path, delta) =>
      Effect.gen(function* () {
        const result = yield* delta.DeltaEventLog.compactLog(path, {
          minFiles: Option.getOrUndefined(options.minFiles)
        })
        const version = Option.getOrNull(result.version)
        yield* Console.log(
          options.json
            ? JSON.stringify({ version, removed: result.removed, added: result.added }, null, 2)
            : version === null
              ? "Nothing to compact: no day has enough small files."
              : `Compacted ${result.removed} files into ${result.added} at version ${version} ` +
                "(dataChange: false; run `tessera vacuum` to delete the old files once no reader needs them)."
        )
      })
    )
).pipe(
  Command.withDescription(
    "Rewrite the small files of a Delta event log into one per day (the log also does it every 50 commits)"
  )
)
