/**
 * Compaction's statements on a SQLite log (core's `Compaction` holds the protocol). It opens the
 * file with connections of its own, like any other process sharing it: each write is one short
 * `BEGIN IMMEDIATE` transaction, so appends of live builds go on between chunks.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Compaction, type EventLog } from "@tessera/core"
import { Effect, Layer, type Scope } from "effect"
import * as Database from "./Database.js"
import { run, statementCache } from "./Driver.js"
import { type SqliteOpenError, storeError } from "./Errors.js"
import { decodeEvents, type EventRow } from "./Reads.js"

const TERMINAL = "SELECT build_request_id FROM build_requests WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')"

/** Builds that reached their terminal status at or before a seq: a terminal row never changes again. */
const FINISHED_BY = `${TERMINAL} AND json_extract(data, '$.updatedSeq') <= ?`

/** The bytes a WAL this connection restarted is cut back to: a chunk's deletes grow it far past SQLite's own checkpoint size. */
const WAL_LIMIT = 4 * 1024 * 1024

interface StateRow {
  readonly log_id: string
  readonly through: number
  readonly chunks: number
  readonly removed: number
  readonly pending: string | null
}

export const make = (
  options: Database.DatabaseOptions
): Effect.Effect<Compaction.CompactorShape, SqliteOpenError, Scope.Scope> =>
  Effect.gen(function* () {
    const db = yield* Database.make(options)
    const { writer, filename } = db
    writer.pragma(`journal_size_limit = ${WAL_LIMIT}`)
    const prepared = statementCache(writer)
    const statement =
      (operation: string) =>
      <A>(body: () => A): Effect.Effect<A, EventLog.StoreError> =>
        run(body).pipe(
          db.retryBusy,
          Effect.mapError((error: SqlError) => storeError(`compact (${operation})`, filename)(error))
        )
    const write =
      (operation: string) =>
      <A>(body: () => A) =>
        statement(operation)(() => writer.transaction(body).immediate())

    const readState = (): Compaction.State => {
      const row = prepared(
        "SELECT log_id, through, chunks, removed, pending FROM compaction WHERE id = 1"
      ).get() as StateRow
      return {
        logId: row.log_id,
        through: row.through,
        chunks: row.chunks,
        removed: row.removed,
        pending: row.pending === null ? undefined : (JSON.parse(row.pending) as Compaction.Pending)
      }
    }
    const eventRows = (source: string, ...params: ReadonlyArray<unknown>) =>
      statement("read")(() => prepared(source).all(...params) as Array<EventRow>).pipe(Effect.flatMap(decodeEvents))

    return Compaction.Compactor.of({
      store: "sqlite",
      state: statement("state")(readState),
      head: statement("head")(
        () => (prepared("SELECT max(seq) AS head FROM events").get() as { head: number | null }).head ?? 0
      ),
      lastSeqBefore: (timestamp) =>
        statement("bound")(
          () =>
            (
              prepared("SELECT max(seq) AS seq FROM events WHERE timestamp < ?").get(timestamp) as {
                seq: number | null
              }
            ).seq ?? 0
        ),
      candidates: ({ through, after, heartbeats, limit }) =>
        eventRows(
          `SELECT seq, payload, appended_at FROM events
            WHERE seq > ? AND seq <= ? AND ${heartbeats ? "kind = 'JobRunHeartbeat'" : "kind <> 'JobRunHeartbeat'"}
              AND build_request_id IN (${FINISHED_BY})
            ORDER BY seq LIMIT ?`,
          after,
          through,
          through,
          limit
        ),
      events: (seqs) =>
        eventRows(
          "SELECT seq, payload, appended_at FROM events WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq",
          JSON.stringify(seqs)
        ),
      begin: (pending) =>
        write("begin")(() => {
          const state = readState()
          if (state.pending !== undefined || state.chunks !== pending.chunk - 1) return false
          prepared("UPDATE compaction SET pending = ? WHERE id = 1").run(JSON.stringify(pending))
          return true
        }),
      remove: (seqs, { through, chunk }) =>
        write("remove")(() => {
          const deleted =
            seqs.length === 0
              ? 0
              : prepared(
                  `DELETE FROM events WHERE seq IN (SELECT value FROM json_each(?)) AND build_request_id IN (${TERMINAL})`
                ).run(JSON.stringify(seqs)).changes
          const finished = chunk !== undefined && readState().pending?.chunk === chunk
          prepared(
            `UPDATE compaction SET through = max(through, ?), removed = removed + ?,
              chunks = CASE WHEN ? THEN max(chunks, ?) ELSE chunks END,
              pending = CASE WHEN ? THEN NULL ELSE pending END WHERE id = 1`
          ).run(through, deleted, finished ? 1 : 0, chunk ?? 0, finished ? 1 : 0)
          return deleted
        }),
      // Gives freed pages back on files created with auto_vacuum; a no-op elsewhere, where later
      // appends reuse them. A passive checkpoint moves the pages into the file without waiting for
      // the processes appending beside it; the WAL is cut back to the limit when it next restarts.
      reclaim: statement("reclaim")(() => {
        writer.pragma("incremental_vacuum")
        writer.pragma("wal_checkpoint(PASSIVE)")
      })
    })
  })

/** The compactor of the SQLite log in `options.filename`. */
export const layer = (options: Database.DatabaseOptions): Layer.Layer<Compaction.Compactor, SqliteOpenError> =>
  Layer.scoped(Compaction.Compactor, make(options))
