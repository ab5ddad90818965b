/**
 * The archive of compacted events: a Delta table with the Delta event log's schema, partitioning
 * and stats (so DuckDB, Spark and delta-rs query it as they would a `delta:` log), appended one
 * commit per chunk under the log's idempotent `txn`. Its seqs have holes where the events of builds
 * still running were left in the log, so it is an archive to query, not a log to open as a store.
 */
import { Compaction } from "@tessera/core"
import { Effect, Either } from "effect"
import * as Store from "../config/Store.js"
import { InvalidArchive } from "../Errors.js"

/** The folder of a `delta:PATH` archive value; relative paths are taken from `base`. */
export const parse = (value: string, base: string): Either.Either<string, InvalidArchive> => {
  const spec = Store.parse(value, base)
  if (Either.isRight(spec) && spec.right._tag === "Delta") return Either.right(spec.right.path)
  return Either.left(
    new InvalidArchive({ archive: value, reason: Either.isLeft(spec) ? spec.left.reason : "is not delta:PATH" })
  )
}

const failed = (archive: string, doing: string) => (error: { readonly message: string }) =>
  new Compaction.ArchiveError({ archive, reason: `${doing} failed: ${error.message}`, cause: error })

/** The archive in the folder `tablePath`, created on its first write. */
export const make = (tablePath: string): Effect.Effect<Compaction.Archive> =>
  Effect.map(
    Effect.promise(() => import("@tessera/store-delta")),
    (delta): Compaction.Archive => {
      const name = `delta:${tablePath}`
      const definition = {
        schema: delta.DeltaEventLog.eventSchema,
        partitionColumns: delta.DeltaEventLog.eventPartitionColumns
      }
      return {
        name,
        version: (appId) =>
          delta.loadSnapshot(tablePath).pipe(
            Effect.map((snapshot) => snapshot.appTransactions.get(appId)?.version ?? 0),
            Effect.catchTag("DeltaTableNotFound", () => Effect.succeed(0)),
            Effect.mapError(failed(name, "reading the archive"))
          ),
        write: (events, txn) =>
          delta.loadSnapshot(tablePath).pipe(
            Effect.catchTag("DeltaTableNotFound", () => delta.createTable(tablePath, definition)),
            Effect.filterOrFail(
              (snapshot) => snapshot.metadata.schemaString === JSON.stringify(definition.schema),
              () =>
                new Compaction.ArchiveError({
                  archive: name,
                  reason: "the folder holds a Delta table whose schema is not the event table's; choose another folder"
                })
            ),
            Effect.flatMap((snapshot) =>
              delta.append(tablePath, events.map(delta.DeltaEventLog.toRow), {
                txn,
                snapshot,
                statsColumns: delta.DeltaEventLog.eventStatsColumns
              })
            ),
            Effect.asVoid,
            Effect.mapError((error) =>
              error._tag === "ArchiveError" ? error : failed(name, `appending chunk ${txn.version}`)(error)
            )
          )
      }
    }
  )
