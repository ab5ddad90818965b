/**
 * Reading the log on PostgreSQL: events by seq cursor and filter, the head, and the three views,
 * each a bounded, retried read that never takes a lock.
 */
import type * as Statement from "@effect/sql/Statement"
import { type BuildEvent, EventCodec, EventFilter, type EventLog, Queries, Spans } from "@tessera/core"
import { Effect } from "effect"
import type { LogContext } from "./LogContext.js"
import { decodeBuildRequests, decodeJobRuns, decodePartitions } from "./Rows.js"

/** A LIKE pattern matching strings that start with `prefix`; `\` is LIKE's default escape. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, "\\$&")}%`

/** A bound for a bigint column: integral and within range, so odd inputs cannot make the query fail. */
const bigint = (value: number) =>
  Number.isNaN(value) ? 0 : Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, value))

const page = <A>(items: Array<A>, limit: number, keyOf: (row: A) => string): Queries.Page<A> =>
  items.length > limit ? { items: items.slice(0, limit), next: keyOf(items[limit - 1]!) } : { items }

/** An `events` row as reads select it: bigints come back as text. */
export interface EventRow {
  readonly seq: string
  readonly payload: string
  readonly appended_at: string
}

/** Rows of `events` as logged events; a payload that does not decode fails with its seq. */
export const decodeEvents = (rows: ReadonlyArray<EventRow>) =>
  Effect.forEach(rows, (row) =>
    Effect.map(
      EventCodec.decode(row.payload, Number(row.seq)),
      (event): BuildEvent.LoggedEvent => ({ seq: Number(row.seq), event, appendedAt: Number(row.appended_at) })
    )
  )

/** The reads of the log in `context`. */
export const make = (
  context: LogContext
): Pick<EventLog.EventLogShape, "read" | "head" | "compactedThrough" | "partitions" | "jobRuns" | "buildRequests"> => {
  const { sql, resilient } = context
  const { events, partitions, jobRuns, buildRequests } = context.tables

  const read = Effect.fnUntraced(function* (filter: EventFilter.EventFilter, options?: EventLog.ReadOptions) {
    if (EventFilter.isEmpty(filter)) return { events: [] }
    const limit = Queries.limitOf(options?.limit)
    const conditions: Array<Statement.Fragment> = [sql`seq > ${bigint(Math.floor(options?.after ?? 0))}`]
    if (filter.buildRequestIds !== undefined) conditions.push(sql`build_request_id = ANY(${filter.buildRequestIds})`)
    if (filter.kinds !== undefined) conditions.push(sql`kind = ANY(${filter.kinds})`)
    if (filter.jobRunIds !== undefined) conditions.push(sql`job_run_id = ANY(${filter.jobRunIds})`)
    if (filter.since !== undefined) conditions.push(sql`"timestamp" >= ${bigint(Math.ceil(filter.since))}`)
    if (filter.until !== undefined) conditions.push(sql`"timestamp" < ${bigint(Math.ceil(filter.until))}`)
    if (filter.partitionRefs !== undefined || filter.refPrefixes !== undefined) {
      const refs = [
        ...(filter.partitionRefs === undefined || filter.partitionRefs.length === 0
          ? []
          : [sql`partition_ref = ANY(${filter.partitionRefs})`]),
        ...(filter.refPrefixes ?? []).map((prefix) => sql`partition_ref LIKE ${likePrefix(prefix)}`)
      ]
      conditions.push(sql.or(refs))
    }
    const rows = yield* resilient(
      "read",
      "read"
    )(
      sql<EventRow>`SELECT seq, payload,
      appended_at FROM ${events} WHERE ${sql.and(conditions)} ORDER BY seq LIMIT ${limit + 1}`
    )
    const out = yield* decodeEvents(rows.slice(0, limit))
    return rows.length > limit ? { events: out, next: out[limit - 1]!.seq } : { events: out }
  }, Spans.hot("PgEventLog.read"))

  const head = resilient(
    "head",
    "read"
  )(
    Effect.map(sql<{ readonly head: string }>`SELECT coalesce(max(seq), 0) AS head FROM ${events}`, (rows) =>
      Number(rows[0]!.head)
    )
  ).pipe(Spans.hot("PgEventLog.head"))

  const compactedThrough = resilient(
    "compactedThrough",
    "read"
  )(
    Effect.map(
      sql<{ readonly through: string }>`SELECT through FROM ${sql(`${context.schema}.compaction`)} WHERE id = 1`,
      (rows) => Number(rows[0]?.through ?? 0)
    )
  ).pipe(Effect.withSpan("PgEventLog.compactedThrough"))

  const partitionsQuery = Effect.fnUntraced(function* (query: Queries.PartitionQuery) {
    const limit = Queries.limitOf(query.limit)
    const where = []
    if (query.refs !== undefined) where.push(sql`ref = ANY(${query.refs})`)
    if (query.prefix !== undefined) where.push(sql`ref LIKE ${likePrefix(query.prefix)}`)
    if (query.statuses !== undefined) where.push(sql`status = ANY(${query.statuses})`)
    if (query.after !== undefined) where.push(sql`ref > ${query.after}`)
    const rows = yield* resilient(
      "partitions",
      "read"
    )(
      sql<{ readonly data: string }>`SELECT data FROM ${partitions} WHERE ${sql.and(where)}
      ORDER BY ref LIMIT ${limit + 1}`
    )
    return page(yield* decodePartitions(rows), limit, (row) => row.ref)
  }, Spans.hot("PgEventLog.partitions"))

  const jobRunsQuery = Effect.fnUntraced(function* (query: Queries.JobRunQuery) {
    const limit = Queries.limitOf(query.limit)
    const where = []
    if (query.jobRunIds !== undefined) where.push(sql`job_run_id = ANY(${query.jobRunIds})`)
    if (query.buildRequestIds !== undefined) where.push(sql`build_request_id = ANY(${query.buildRequestIds})`)
    if (query.jobNames !== undefined) where.push(sql`job_name = ANY(${query.jobNames})`)
    if (query.inputs !== undefined) where.push(sql`inputs && ${query.inputs}::text[]`)
    if (query.statuses !== undefined) where.push(sql`status = ANY(${query.statuses})`)
    if (query.after !== undefined) where.push(sql`job_run_id > ${query.after}`)
    const rows = yield* resilient(
      "jobRuns",
      "read"
    )(
      sql<{ readonly data: string }>`SELECT data FROM ${jobRuns} WHERE ${sql.and(where)}
      ORDER BY job_run_id LIMIT ${limit + 1}`
    )
    return page(yield* decodeJobRuns(rows), limit, (row) => row.jobRunId)
  }, Spans.hot("PgEventLog.jobRuns"))

  const buildRequestsQuery = Effect.fnUntraced(function* (query: Queries.BuildRequestQuery) {
    const limit = Queries.limitOf(query.limit)
    const where = []
    if (query.buildRequestIds !== undefined) where.push(sql`build_request_id = ANY(${query.buildRequestIds})`)
    if (query.statuses !== undefined) where.push(sql`status = ANY(${query.statuses})`)
    if (query.after !== undefined) where.push(sql`build_request_id > ${query.after}`)
    const rows = yield* resilient(
      "buildRequests",
      "read"
    )(
      sql<{ readonly data: string }>`SELECT data FROM ${buildRequests} WHERE ${sql.and(where)}
      ORDER BY build_request_id LIMIT ${limit + 1}`
    )
    return page(yield* decodeBuildRequests(rows), limit, (row) => row.buildRequestId)
  }, Spans.hot("PgEventLog.buildRequests"))

  return {
    read,
    head,
    compactedThrough,
    partitions: partitionsQuery,
    jobRuns: jobRunsQuery,
    buildRequests: buildRequestsQuery
  }
}
