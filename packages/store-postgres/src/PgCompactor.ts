/**
 * Compaction's statements on a PostgreSQL log (core's `Compaction` holds the protocol). Each write
 * is one short transaction that locks the compaction row, so two compactors (a daemon's policy and
 * a `tessera compact` by hand) take turns, and appends never wait on it: appends lock the log's
 * append lock, which compaction does not take; the rows it deletes are rows no append reads.
 */
import { Compaction } from "@tessera/core"
import { Effect } from "effect"
import type { LogContext } from "./LogContext.js"
import { decodeEvents, type EventRow } from "./PgReads.js"
import * as Transaction from "./Transaction.js"

interface StateRow {
  readonly log_id: string
  readonly through: string
  readonly chunks: string
  readonly removed: string
  readonly pending: string | null
}

const asState = (row: StateRow): Compaction.State => ({
  logId: row.log_id,
  through: Number(row.through),
  chunks: Number(row.chunks),
  removed: Number(row.removed),
  pending: row.pending === null ? undefined : (JSON.parse(row.pending) as Compaction.Pending)
})

/** The compactor of the log in `context`. */
export const make = (context: LogContext): Compaction.CompactorShape => {
  const { sql, resilient, schema, operationTimeout } = context
  const { events, buildRequests } = context.tables
  const compaction = sql(`${schema}.compaction`)
  const terminal = sql`SELECT build_request_id FROM ${buildRequests} WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')`
  const selectState = sql<StateRow>`SELECT log_id, through, chunks, removed, pending FROM ${compaction} WHERE id = 1`
  const lockedState = Effect.map(
    sql<StateRow>`SELECT log_id, through, chunks, removed, pending FROM ${compaction} WHERE id = 1 FOR UPDATE`,
    (rows) => asState(rows[0]!)
  )
  const write = <A, E, R>(operation: string, body: Effect.Effect<A, E, R>) =>
    resilient(`compact (${operation})`)(Transaction.run(sql, Transaction.begin([], operationTimeout), body))
  const read = (operation: string) => resilient(`compact (${operation})`, "read")

  return Compaction.Compactor.of({
    store: "postgres",
    state: read("state")(Effect.map(selectState, (rows) => asState(rows[0]!))),
    head: read("head")(
      Effect.map(sql<{ readonly head: string }>`SELECT coalesce(max(seq), 0) AS head FROM ${events}`, (rows) =>
        Number(rows[0]!.head)
      )
    ),
    lastSeqBefore: (timestamp) =>
      read("bound")(
        Effect.map(
          sql<{ readonly seq: string }>`SELECT coalesce(max(seq), 0) AS seq FROM ${events}
            WHERE "timestamp" < ${Math.floor(timestamp)}`,
          (rows) => Number(rows[0]!.seq)
        )
      ),
    candidates: ({ through, after, heartbeats, limit }) =>
      read("read")(
        sql<EventRow>`SELECT seq, payload, appended_at FROM ${events}
          WHERE seq > ${after} AND seq <= ${through}
            AND ${heartbeats ? sql`kind = 'JobRunHeartbeat'` : sql`kind <> 'JobRunHeartbeat'`}
            AND build_request_id IN (${terminal} AND (data::jsonb->>'updatedSeq')::bigint <= ${through})
          ORDER BY seq LIMIT ${limit}`
      ).pipe(Effect.flatMap(decodeEvents)),
    events: (seqs) =>
      read("read")(
        sql<EventRow>`SELECT seq, payload, appended_at FROM ${events} WHERE seq = ANY(${seqs}::bigint[]) ORDER BY seq`
      ).pipe(Effect.flatMap(decodeEvents)),
    begin: (pending) =>
      write(
        "begin",
        Effect.gen(function* () {
          const state = yield* lockedState
          if (state.pending !== undefined || state.chunks !== pending.chunk - 1) return false
          yield* sql`UPDATE ${compaction} SET pending = ${JSON.stringify(pending)} WHERE id = 1`
          return true
        })
      ),
    remove: (seqs, { through, chunk }) =>
      write(
        "remove",
        Effect.gen(function* () {
          const state = yield* lockedState
          const deleted =
            seqs.length === 0
              ? 0
              : (yield* sql<{ readonly seq: string }>`DELETE FROM ${events}
                  WHERE seq = ANY(${seqs}::bigint[]) AND build_request_id IN (${terminal}) RETURNING seq`).length
          const finished = chunk !== undefined && state.pending?.chunk === chunk
          yield* sql`UPDATE ${compaction} SET through = greatest(through, ${through}), removed = removed + ${deleted},
            chunks = ${finished ? Math.max(state.chunks, chunk) : state.chunks},
            pending = CASE WHEN ${finished} THEN NULL ELSE pending END WHERE id = 1`
          return deleted
        })
      ),
    // PostgreSQL's autovacuum makes the deleted rows' space reusable; nothing to do here.
    reclaim: Effect.void
  })
}
