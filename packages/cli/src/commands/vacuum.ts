import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { positive } from "./build.js"
import { withDeltaTable } from "./DeltaTable.js"
import { shared } from "./Root.js"

const HOUR_MS = 3_600_000

export const vacuum = Command.make(
  "vacuum",
  {
    retention: Options.integer("retention").pipe(
      Options.withSchema(positive("retention")),
      Options.withDescription(
        "Hours a file no longer in the table is kept before it is deleted, as Delta's VACUUM RETAIN n HOURS " +
          "(default: the table's delta.deletedFileRetentionDuration, one week unless set)"
      ),
      Options.optional
    ),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("List what would be deleted, delete nothing")),
    ...shared
  },
  (options) =>
    withDeltaTable("vacuum", options, (path, delta) =>
      Effect.gen(function* () {
        const retentionMs = Option.getOrUndefined(Option.map(options.retention, (hours) => hours * HOUR_MS))
        const { deleted } = yield* delta.vacuum(path, {
          dryRun: options.dryRun,
          ...(retentionMs === undefined ? {} : { retentionMs })
        })
        const verb = options.dryRun ? "Would delete" : "Deleted"
        yield* Console.log(
          options.json
            ? JSON.stringify({ dryRun: options.dryRun, deleted }, null, 2)
            : [`${verb} ${deleted.length} file(s) no longer in the table.`, ...deleted.map((file) => `  ${file}`)].join(
                "\n"
              )
        )
      })
    )
).pipe(Command.withDescription("Delete the files of a Delta event log that compaction replaced, once past retention"))
