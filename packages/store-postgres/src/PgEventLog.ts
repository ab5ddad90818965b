/**
 * The build event log on PostgreSQL: many processes on many machines share one log. Appends are
 * transactions serialised by an advisory lock, so `seq` is gap-free and commits become visible in
 * seq order; the views are tables updated in the same transaction; tails follow a seq cursor and
 * are woken early by LISTEN/NOTIFY.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as PgClient from "@effect/sql-pg/PgClient"
import {
  Batch,
  BuildEvent,
  EventCodec,
  EventFilter,
  EventLog,
  type Expectation,
  type JobQueue,
  Queries,
  Reading,
  Reducer,
  Views,
  Wakeup
} from "@tessera/core"
import {
  Config,
  type ConfigError,
  Duration,
  Effect,
  Either,
  Fiber,
  Layer,
  Metric,
  ParseResult,
  Queue,
  RcRef,
  Redacted,
  Ref,
  Schedule,
  Schema,
  Stream
} from "effect"
import { LOCK_APPEND, migrate, type SchemaTooNew, schemaNameProblem } from "./Migrations.js"
import * as PgJobQueue from "./PgJobQueue.js"
import * as Transaction from "./Transaction.js"

export const DEFAULT_SCHEMA = "tessera"

/** Where the database is and how many connections to keep. */
export interface ConnectionOptions {
  /** `postgres://user:password@host:5432/database`; or the separate fields below. */
  readonly url?: string | Redacted.Redacted | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  readonly password?: string | Redacted.Redacted | undefined
  readonly ssl?: PgClient.PgClientConfig["ssl"]
  /** Pool size per process (default 10). Appends hold one connection for their transaction. */
  readonly maxConnections?: number | undefined
  readonly minConnections?: number | undefined
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** How long opening a connection may take before it fails (default 10 seconds). */
  readonly connectTimeout?: Duration.DurationInput | undefined
  readonly connectionTTL?: Duration.DurationInput | undefined
  /** Shown in `pg_stat_activity.application_name` (default "tessera"). */
  readonly applicationName?: string | undefined
}

/** How the log behaves on top of a connection. */
export interface LogOptions {
  /** The PostgreSQL schema holding the log's tables (default "tessera"): one log per schema. */
  readonly schema?: string | undefined
  /** How often a tail looks for appends when no notification woke it (default 1 second). */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** How long an operation retries a lost connection before failing with `StoreError` (default 10 seconds). */
  readonly retryFor?: Duration.DurationInput | undefined
  /** How often the LISTEN connection proves it still hears notifications (default 5 seconds). */
  readonly listenCheckInterval?: Duration.DurationInput | undefined
  /**
   * How long one attempt of an operation may take, lock waits included, before it fails with a
   * `StoreError` naming the operation (default 60 seconds). Enforced by the server inside
   * transactions (`statement_timeout`, `lock_timeout`) and by the client around every read.
   */
  readonly operationTimeout?: Duration.DurationInput | undefined
}

export interface Options extends ConnectionOptions, LogOptions {}

const STORE = "postgres"

const redact = (value: string | Redacted.Redacted | undefined) =>
  typeof value === "string" ? Redacted.make(value) : value

/** The `PgClient` config for these options. Result and query names are never transformed: rows are stored as is. */
export const clientConfig = (options: ConnectionOptions): PgClient.PgClientConfig => ({
  url: redact(options.url),
  host: options.host,
  port: options.port,
  database: options.database,
  username: options.username,
  password: redact(options.password),
  ssl: options.ssl,
  maxConnections: options.maxConnections ?? 10,
  minConnections: options.minConnections,
  idleTimeout: options.idleTimeout,
  // A server that accepts TCP connections but never answers must not hang every command.
  connectTimeout: options.connectTimeout ?? "10 seconds",
  connectionTTL: options.connectionTTL,
  applicationName: options.applicationName ?? "tessera"
})

// ---------------------------------------------------------------------------------------------
// Errors and retries

const causeOf = (error: SqlError): { readonly code?: string; readonly message?: string } => {
  const cause: unknown = error.cause
  if (typeof cause !== "object" || cause === null) return {}
  const code = "code" in cause && typeof cause.code === "string" ? cause.code : undefined
  const message = "message" in cause && typeof cause.message === "string" ? cause.message : undefined
  return { ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) }
}

const SQLSTATE = /^[0-9A-Z]{5}$/
/** Connection exceptions, server shutdown or termination (`pg_terminate_backend`), too many connections. */
const RETRYABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "40001", "40P01"])

/**
 * Whether retrying can help: the connection broke, the server restarted, or a node socket error.
 * Errors the server reports about the statement itself (a SQLSTATE outside these) are final.
 */
export const isTransient = (error: SqlError): boolean => {
  const { code, message } = causeOf(error)
  // The pool was closed under the call (its layer is shutting down): no retry can help.
  if (message?.includes("after calling end on the pool")) return false
  if (code === undefined || !SQLSTATE.test(code)) return !(error.cause instanceof TypeError)
  return code.startsWith("08") || RETRYABLE_SQLSTATES.has(code)
}

const isSqlError = (error: unknown): error is SqlError =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "SqlError"

const describe = (error: SqlError): string => {
  const { code, message } = causeOf(error)
  const detail = message === undefined ? "" : `: ${message}${code === undefined ? "" : ` (${code})`}`
  return `${error.message}${detail}`
}

const storeError = (operation: string, error: SqlError, retryFor: Duration.Duration) =>
  new EventLog.StoreError({
    store: STORE,
    operation,
    reason: isTransient(error)
      ? `${describe(error)}; PostgreSQL stayed unreachable for ${Duration.format(retryFor)} of retries. ` +
        `Check that the server is up and the connection settings (the store URL: --store, TESSERA_STORE or DATABASE_URL) are right`
      : describe(error),
    cause: error
  })

/** Operations retried after a lost connection, and events appended, by this process. */
export const retries = Metric.counter("tessera_postgres_retries", {
  description: "Operations the PostgreSQL store retried after losing its connection"
})
export const appended = Metric.counter("tessera_postgres_appended_events", {
  description: "Events appended to the PostgreSQL log by this process"
})

// ---------------------------------------------------------------------------------------------
// Rows

const PartitionJson = Schema.parseJson(Views.PartitionRow)
const JobRunJson = Schema.parseJson(Views.JobRunRow)
const BuildRequestJson = Schema.parseJson(Views.BuildRequestRow)
const encodePartition = Schema.encodeSync(PartitionJson)
const encodeJobRun = Schema.encodeSync(JobRunJson)
const encodeBuildRequest = Schema.encodeSync(BuildRequestJson)

const decodeRows =
  <A, I>(schema: Schema.Schema<A, I>, table: string) =>
  (rows: ReadonlyArray<{ readonly data: string }>): Effect.Effect<Array<A>, EventLog.StoreError> => {
    const decode = Schema.decodeUnknownEither(schema)
    const out: Array<A> = []
    for (const row of rows) {
      const decoded = decode(row.data)
      if (Either.isLeft(decoded)) {
        return Effect.fail(
          new EventLog.StoreError({
            store: STORE,
            operation: `read ${table}`,
            reason:
              `a row of ${table} does not decode (${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}); ` +
              `it was changed outside Tessera or written by a newer version`
          })
        )
      }
      out.push(decoded.right)
    }
    return Effect.succeed(out)
  }
const decodePartitions = decodeRows(PartitionJson, "partitions")
const decodeJobRuns = decodeRows(JobRunJson, "job_runs")
const decodeBuildRequests = decodeRows(BuildRequestJson, "build_requests")

/** A LIKE pattern matching strings that start with `prefix`; `\` is LIKE's default escape. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, "\\$&")}%`

/** A bound for a bigint column: integral and within range, so odd inputs cannot make the query fail. */
const bigint = (value: number) =>
  Number.isNaN(value) ? 0 : Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, value))

const page = <A>(items: Array<A>, limit: number, keyOf: (row: A) => string): Queries.Page<A> =>
  items.length > limit ? { items: items.slice(0, limit), next: keyOf(items[limit - 1]!) } : { items }

/** What an append attempt wrote before it asked to commit: if the commit's answer is lost, the retry checks it. */
interface Pending {
  readonly firstEventId: string
  readonly firstSeq: number
  readonly result: EventLog.AppendResult
}

// ---------------------------------------------------------------------------------------------
// The store

/** The log and the distributed workers' queue of one schema. */
export interface Store {
  readonly log: EventLog.EventLogShape
  readonly queue: JobQueue.JobQueueShape
}

/**
 * The log in `options.schema` and the distributed workers' queue beside it, over the `PgClient` in
 * context, migrated first. They share the client, the retries and the LISTEN connection.
 */
export const makeStore = Effect.fn("PgEventLog.makeStore")(function* (options: LogOptions = {}) {
  const sql = yield* PgClient.PgClient
  const schema = options.schema ?? DEFAULT_SCHEMA
  const retryFor = Duration.decode(options.retryFor ?? "10 seconds")
  const pollInterval = options.pollInterval ?? "1 second"
  const checkInterval = Duration.decode(options.listenCheckInterval ?? "5 seconds")
  const operationTimeout = Duration.decode(options.operationTimeout ?? "60 seconds")
  const badSchema = schemaNameProblem(schema)
  if (badSchema !== undefined) {
    return yield* new EventLog.StoreError({ store: STORE, operation: "open", reason: badSchema })
  }

  const schedule = Schedule.exponential("50 millis").pipe(
    Schedule.union(Schedule.spaced("1 second")),
    Schedule.jittered,
    Schedule.upTo(retryFor)
  )
  /**
   * One attempt, never interrupted mid-statement: that would send `pg_cancel_backend`, which can
   * land on the next statement of that connection (see `Transaction.run`). A write makes its caller
   * wait for its answer, so the caller always knows whether it landed (a claim that landed is
   * released); the server's bounds in its transaction (`operationTimeout`) keep that wait finite.
   * A read's caller returns at once when interrupted, the read finishing on its own, and a server
   * that does not answer a read within `operationTimeout` fails it, naming the operation.
   */
  const bounded =
    (operation: string, kind: "read" | "write") =>
    <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | EventLog.StoreError, R> =>
      kind === "write"
        ? Effect.uninterruptible(effect)
        : effect.pipe(
            Effect.uninterruptible,
            Effect.disconnect,
            Effect.timeoutFail({
              duration: Duration.sum(operationTimeout, "2 seconds"),
              onTimeout: () =>
                new EventLog.StoreError({
                  store: STORE,
                  operation,
                  reason:
                    `PostgreSQL did not answer within ${Duration.format(operationTimeout)}. ` +
                    `Check the server's load and locks (pg_stat_activity), or raise operationTimeout`
                })
            })
          )
  /** Retries lost connections, then turns what is left of SQL errors into `StoreError`. */
  const resilient =
    (operation: string, kind: "read" | "write" = "write") =>
    <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError> | EventLog.StoreError, R> =>
      bounded(
        operation,
        kind
      )(effect).pipe(
        Effect.tapError((error) => (isSqlError(error) && isTransient(error) ? Metric.increment(retries) : Effect.void)),
        Effect.retry({ schedule, while: (error) => isSqlError(error) && isTransient(error) }),
        Effect.mapError((error) =>
          isSqlError(error) ? storeError(operation, error, retryFor) : (error as Exclude<E, SqlError>)
        )
      )

  yield* migrate(schema).pipe(
    resilient("migrate"),
    Effect.catchTag("MigrationError", (error) =>
      Effect.fail(new EventLog.StoreError({ store: STORE, operation: "migrate", reason: error.message, cause: error }))
    ),
    Effect.catchAllDefect((defect) =>
      Effect.fail(
        new EventLog.StoreError({
          store: STORE,
          operation: "migrate",
          reason: `a migration of schema "${schema}" failed; nothing of it was kept`,
          cause: defect
        })
      )
    )
  )

  const events = sql(`${schema}.events`)
  const partitions = sql(`${schema}.partitions`)
  const jobRuns = sql(`${schema}.job_runs`)
  const buildRequests = sql(`${schema}.build_requests`)
  const channel = `tessera_${schema}`

  const selectPartitions = (refs: ReadonlyArray<string>) =>
    Effect.flatMap(
      sql<{ readonly data: string }>`SELECT data FROM ${partitions} WHERE ref = ANY(${refs})`,
      decodePartitions
    )
  const selectJobRuns = (ids: ReadonlyArray<string>) =>
    Effect.flatMap(
      sql<{ readonly data: string }>`SELECT data FROM ${jobRuns} WHERE job_run_id = ANY(${ids})`,
      decodeJobRuns
    )
  const selectBuildRequests = (ids: ReadonlyArray<string>) =>
    Effect.flatMap(
      sql<{ readonly data: string }>`SELECT data FROM ${buildRequests} WHERE build_request_id = ANY(${ids})`,
      decodeBuildRequests
    )

  /**
   * The log's head, the database's clock, and every id and row the batch's events and expectations
   * name, in one round trip. `Batch.decide` then reads from these; only a heartbeat's outputs, known
   * once its run is loaded, may still need a query of their own.
   */
  const prefetch = (batch: ReadonlyArray<BuildEvent.BuildEvent>, expect: ReadonlyArray<Expectation.Expectation>) =>
    Effect.gen(function* () {
      const keys = Reducer.emptyKeys()
      for (const event of batch) Reducer.addKeys(keys, event)
      for (const expectation of expect) {
        if (expectation._tag === "JobRunIs") keys.jobRunIds.add(expectation.jobRunId)
        else keys.refs.add(expectation.ref)
      }
      const ids = [...new Set(batch.map((event) => event.eventId))]
      const refs = [...keys.refs]
      const runIds = [...keys.jobRunIds]
      const buildIds = [...keys.buildRequestIds]
      // Leases are judged by the database's clock, the one clock every process shares.
      const rows = yield* sql<{ readonly kind: string; readonly key: string; readonly data: string | null }>`
        SELECT 'head' AS kind, coalesce(max(seq), 0)::text AS key,
          (extract(epoch FROM clock_timestamp()) * 1000)::int8::text AS data FROM ${events}
        UNION ALL SELECT 'event', event_id, NULL FROM ${events} WHERE event_id = ANY(${ids})
        UNION ALL SELECT 'partition', ref::text, data FROM ${partitions} WHERE ref = ANY(${refs})
        UNION ALL SELECT 'job_run', job_run_id::text, data FROM ${jobRuns} WHERE job_run_id = ANY(${runIds})
        UNION ALL SELECT 'build_request', build_request_id::text, data FROM ${buildRequests}
          WHERE build_request_id = ANY(${buildIds})`
      const byKind = (kind: string) => rows.flatMap((row) => (row.kind === kind ? [{ data: row.data ?? "" }] : []))
      const state = rows.find((row) => row.kind === "head")!
      const existing = new Set(rows.flatMap((row) => (row.kind === "event" ? [row.key] : [])))
      const found = {
        partitions: new Map((yield* decodePartitions(byKind("partition"))).map((row) => [row.ref as string, row])),
        jobRuns: new Map((yield* decodeJobRuns(byKind("job_run"))).map((row) => [row.jobRunId, row])),
        buildRequests: new Map(
          (yield* decodeBuildRequests(byKind("build_request"))).map((row) => [row.buildRequestId, row])
        )
      }
      const asked = {
        ids: new Set<string>(ids),
        refs: keys.refs,
        runIds: keys.jobRunIds,
        buildIds: keys.buildRequestIds
      }
      /** Rows for `wanted` from the prefetch where it asked for them, from a query otherwise. */
      const serve =
        <A, E>(
          known: ReadonlySet<string>,
          rows: ReadonlyMap<string, A>,
          select: (keys: ReadonlyArray<string>) => Effect.Effect<Iterable<A>, E>
        ) =>
        (wanted: ReadonlyArray<string>): Effect.Effect<Iterable<A>, E> => {
          const missing = wanted.filter((key) => !known.has(key))
          const served = wanted.flatMap((key) => {
            const row = rows.get(key)
            return row === undefined ? [] : [row]
          })
          return missing.length === 0
            ? Effect.succeed(served)
            : Effect.map(select(missing), (more) => [...served, ...more])
        }
      const loader: Batch.Loader<SqlError | EventLog.StoreError> = {
        existingEventIds: (wanted) =>
          wanted.every((id) => asked.ids.has(id))
            ? Effect.succeed(existing)
            : Effect.map(
                sql<{ readonly event_id: string }>`SELECT event_id FROM ${events} WHERE event_id = ANY(${wanted})`,
                (found) => new Set(found.map((row) => row.event_id))
              ),
        partitions: serve(asked.refs, found.partitions, selectPartitions),
        jobRuns: serve(asked.runIds, found.jobRuns, selectJobRuns),
        buildRequests: serve(asked.buildIds, found.buildRequests, selectBuildRequests)
      }
      return { head: Number(state.key), now: Number(state.data), loader }
    })

  /** Every new event and changed row in one statement, with unnest over array parameters: one round trip. */
  const write = (batch: Batch.Batch, head: number) => {
    const n = batch.logged.length
    const seqs = new Array<number>(n)
    const ids = new Array<string>(n)
    const timestamps = new Array<number>(n)
    const builds = new Array<string>(n)
    const kinds = new Array<string>(n)
    const refs = new Array<string | null>(n)
    const runs = new Array<string | null>(n)
    const payloads = new Array<string>(n)
    const appendedAt = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const { seq, event } = batch.logged[i]!
      appendedAt[i] = batch.logged[i]!.appendedAt
      seqs[i] = seq
      ids[i] = event.eventId
      timestamps[i] = event.timestamp
      builds[i] = event.buildRequestId
      kinds[i] = event._tag
      refs[i] = BuildEvent.partitionRefOf(event) ?? null
      runs[i] = BuildEvent.jobRunIdOf(event) ?? null
      payloads[i] = EventCodec.encode(event)
    }
    const p = batch.partitions
    const j = batch.jobRuns
    const b = batch.buildRequests
    return sql`WITH e AS (
        INSERT INTO ${events} (seq, event_id, "timestamp", build_request_id, kind, partition_ref, job_run_id, payload,
          appended_at)
        SELECT * FROM unnest(${seqs}::int8[], ${ids}::text[], ${timestamps}::int8[], ${builds}::text[],
          ${kinds}::text[], ${refs}::text[], ${runs}::text[], ${payloads}::text[], ${appendedAt}::int8[])
      ), p AS (
        INSERT INTO ${partitions} (ref, status, data)
        SELECT * FROM unnest(${p.map((row) => row.ref)}::text[], ${p.map((row) => row.status)}::text[],
          ${p.map((row) => encodePartition(row))}::text[])
        ON CONFLICT (ref) DO UPDATE SET status = excluded.status, data = excluded.data
      ), j AS (
        INSERT INTO ${jobRuns} (job_run_id, build_request_id, job_name, status, data)
        SELECT * FROM unnest(${j.map((row) => row.jobRunId)}::text[], ${j.map((row) => row.buildRequestId)}::text[],
          ${j.map((row) => row.jobName)}::text[], ${j.map((row) => row.status)}::text[], ${j.map((row) => encodeJobRun(row))}::text[])
        ON CONFLICT (job_run_id) DO UPDATE SET build_request_id = excluded.build_request_id,
          job_name = excluded.job_name, status = excluded.status, data = excluded.data
      ), b AS (
        INSERT INTO ${buildRequests} (build_request_id, status, data)
        SELECT * FROM unnest(${b.map((row) => row.buildRequestId)}::text[], ${b.map((row) => row.status)}::text[],
          ${b.map((row) => encodeBuildRequest(row))}::text[])
        ON CONFLICT (build_request_id) DO UPDATE SET status = excluded.status, data = excluded.data
      )
      SELECT pg_notify(${channel}, ${String(head)})`
  }

  // The schema name is a checked identifier, so it can sit in the SQL text: BEGIN and the lock then
  // go out as one simple-protocol message. One appender at a time per log, until commit: seq stays
  // gap-free, and since the lock is released only after the commit is visible, no reader ever sees
  // seq n+1 without seq n. A COMMIT on a dead connection is an error to retry, not a defect.
  const beginAndLock = Transaction.begin(
    [`SELECT pg_advisory_xact_lock(${LOCK_APPEND}, hashtext('${schema}'))`],
    operationTimeout
  )

  const appendOnce = (
    batch: ReadonlyArray<BuildEvent.BuildEvent>,
    expect: ReadonlyArray<Expectation.Expectation>,
    pending: Ref.Ref<Pending | undefined>
  ) =>
    Transaction.run(
      sql,
      beginAndLock,
      Effect.gen(function* () {
        const earlier = yield* Ref.get(pending)
        if (earlier !== undefined) {
          const found = yield* sql<{ readonly seq: string }>`SELECT seq FROM ${events}
            WHERE event_id = ${earlier.firstEventId}`
          if (found.length > 0 && Number(found[0]!.seq) === earlier.firstSeq) return earlier.result
          yield* Ref.set(pending, undefined)
        }
        const { head, now, loader } = yield* prefetch(batch, expect)
        const decided = yield* Batch.decide(loader, batch, { firstSeq: head + 1, now, expect })
        if (decided.logged.length === 0) return { appended: [], duplicates: decided.duplicates, head }
        const last = head + decided.logged.length
        yield* write(decided, last)
        const result: EventLog.AppendResult = { appended: decided.logged, duplicates: decided.duplicates, head: last }
        return result
      }),
      (result) =>
        result.appended.length === 0
          ? Effect.void
          : Ref.set(pending, {
              firstEventId: result.appended[0]!.event.eventId,
              firstSeq: result.appended[0]!.seq,
              result
            })
    )

  const append = Effect.fn("PgEventLog.append")(function* (
    batch: ReadonlyArray<BuildEvent.BuildEvent>,
    options?: EventLog.AppendOptions
  ) {
    yield* Effect.annotateCurrentSpan({ store: STORE, events: batch.length })
    const pending = yield* Ref.make<Pending | undefined>(undefined)
    const result = yield* resilient("append")(appendOnce(batch, options?.expect ?? [], pending))
    yield* Metric.incrementBy(appended, result.appended.length)
    return result
  })

  const read = Effect.fn("PgEventLog.read")(function* (
    filter: EventFilter.EventFilter,
    options?: EventLog.ReadOptions
  ) {
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
      sql<{ readonly seq: string; readonly payload: string; readonly appended_at: string }>`SELECT seq, payload,
        appended_at FROM ${events} WHERE ${sql.and(conditions)} ORDER BY seq LIMIT ${limit + 1}`
    )
    const out: Array<BuildEvent.LoggedEvent> = []
    for (let i = 0; i < Math.min(limit, rows.length); i++) {
      const seq = Number(rows[i]!.seq)
      out.push({
        seq,
        event: yield* EventCodec.decode(rows[i]!.payload, seq),
        appendedAt: Number(rows[i]!.appended_at)
      })
    }
    return rows.length > limit ? { events: out, next: out[limit - 1]!.seq } : { events: out }
  })

  const head = resilient(
    "head",
    "read"
  )(
    Effect.map(sql<{ readonly head: string }>`SELECT coalesce(max(seq), 0) AS head FROM ${events}`, (rows) =>
      Number(rows[0]!.head)
    )
  ).pipe(Effect.withSpan("PgEventLog.head"))

  const partitionsQuery = Effect.fn("PgEventLog.partitions")(function* (query: Queries.PartitionQuery) {
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
  })

  const jobRunsQuery = Effect.fn("PgEventLog.jobRuns")(function* (query: Queries.JobRunQuery) {
    const limit = Queries.limitOf(query.limit)
    const where = []
    if (query.jobRunIds !== undefined) where.push(sql`job_run_id = ANY(${query.jobRunIds})`)
    if (query.buildRequestIds !== undefined) where.push(sql`build_request_id = ANY(${query.buildRequestIds})`)
    if (query.jobNames !== undefined) where.push(sql`job_name = ANY(${query.jobNames})`)
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
  })

  const buildRequestsQuery = Effect.fn("PgEventLog.buildRequests")(function* (query: Queries.BuildRequestQuery) {
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
  })

  const wakeup = yield* Wakeup.make
  const queueWakeup = yield* Wakeup.make
  const listener = yield* RcRef.make({
    acquire: Effect.forkScoped(listen(sql, channel, { log: wakeup, queue: queueWakeup }, checkInterval)),
    // Tails come and go (a scheduler waits on one partition after another): keep LISTEN up between them.
    idleTimeToLive: "10 seconds"
  })

  const shape: EventLog.EventLogShape = {
    store: STORE,
    append,
    read,
    stream: (filter, options) => Reading.stream(read, filter, options?.after),
    tail: (filter, options) =>
      Stream.unwrapScoped(
        Effect.as(
          RcRef.get(listener),
          Reading.tail(read, filter, { after: options?.after, head, wakeup, pollInterval })
        )
      ),
    head,
    partitions: partitionsQuery,
    jobRuns: jobRunsQuery,
    buildRequests: buildRequestsQuery
  }
  const queue = yield* PgJobQueue.make({
    schema,
    channel,
    resilient,
    operationTimeout,
    // The log's LISTEN connection serves the queue too: one per process, however many tails and workers.
    wakeups: Stream.unwrapScoped(Effect.as(RcRef.get(listener), Stream.repeatEffect(Effect.flatten(queueWakeup.next))))
  })
  const store: Store = { log: shape, queue }
  return store
})

/**
 * The log in `options.schema` over the `PgClient` in context, migrated first. The caller owns the
 * client; `layer` builds one.
 */
export const make = (options: LogOptions = {}) => Effect.map(makeStore(options), (store) => store.log)

const PING = "ping:"

/**
 * Turns notifications into wake-ups, for as long as a tail needs them. A LISTEN connection can die
 * without a word (`pg_terminate_backend`, a network cut), so the loop pings itself through the
 * channel every `checkInterval` and starts over on a fresh connection when a ping does not come
 * back. Tails never depend on it for correctness: their poll finds every event anyway, only later.
 */
const listen = (
  sql: PgClient.PgClient,
  channel: string,
  wakeups: { readonly log: Wakeup.Wakeup; readonly queue: Wakeup.Wakeup },
  checkInterval: Duration.Duration
): Effect.Effect<never> => {
  const me = `${PING}${Math.random().toString(36).slice(2)}`
  const session = Effect.scoped(
    Effect.gen(function* () {
      const pings = yield* Queue.sliding<string>(16)
      const listening = yield* sql.listen(channel).pipe(
        Stream.runForEach((payload) =>
          payload.startsWith(PING)
            ? payload === me
              ? Queue.offer(pings, payload)
              : Effect.void
            : payload === PgJobQueue.QUEUE_PAYLOAD
              ? wakeups.queue.signal
              : wakeups.log.signal
        ),
        Effect.forkScoped
      )
      /** Sends a ping through the channel and waits for it to come back on the LISTEN connection. */
      const check = (within: Duration.DurationInput) =>
        Queue.takeAll(pings).pipe(
          // Not `sql.notify`: it sends `NOTIFY channel, $1`, which PostgreSQL refuses (NOTIFY takes no parameters).
          Effect.zipRight(sql`SELECT pg_notify(${channel}, ${me})`),
          Effect.zipRight(Queue.take(pings)),
          Effect.timeoutFail({ duration: within, onTimeout: () => new ListenLost({ channel }) })
        )
      // LISTEN runs asynchronously in the stream, so the first pings may go out before it does.
      yield* Effect.retry(check("100 millis"), Schedule.recurs(50))
      // Only now is LISTEN surely active; appends made before are found by the read this wake-up
      // causes, and every later one notifies. Workers look for runs queued meanwhile the same way.
      yield* wakeups.log.signal
      yield* wakeups.queue.signal
      return yield* Effect.raceFirst(
        Fiber.join(listening),
        Effect.forever(Effect.zipRight(Effect.sleep(checkInterval), check(checkInterval)))
      )
    })
  )
  return session.pipe(
    Effect.zipRight(Effect.fail(new ListenLost({ channel }))),
    Effect.tapError((error) => Effect.logDebug("LISTEN connection lost; reconnecting", error)),
    Effect.retry(Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))),
    Effect.orDie,
    Effect.zipRight(Effect.never)
  )
}

class ListenLost extends Schema.TaggedError<ListenLost>()("ListenLost", { channel: Schema.String }) {
  override get message(): string {
    return `the LISTEN connection for channel ${this.channel} stopped hearing notifications`
  }
}

// ---------------------------------------------------------------------------------------------
// Layers

/** A `PgClient` for these options, with connection errors as `StoreError`. */
export const clientLayer = (
  options: ConnectionOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, EventLog.StoreError> =>
  PgClient.layer(clientConfig(options)).pipe(
    Layer.catchAll((error) =>
      Layer.fail(
        new EventLog.StoreError({
          store: STORE,
          operation: "connect",
          reason: `${describe(error)}. Check that PostgreSQL is up and the connection settings (the store URL: --store, TESSERA_STORE or DATABASE_URL) are right`,
          cause: error
        })
      )
    )
  )

/** The log over a `PgClient` the application provides (e.g. shared with its own queries). */
export const layerWith = (
  options: LogOptions = {}
): Layer.Layer<EventLog.EventLog, EventLog.StoreError | SchemaTooNew, PgClient.PgClient> =>
  Layer.scoped(EventLog.EventLog, make(options))

/** The log with its own connection pool. */
export const layer = (options: Options = {}): Layer.Layer<EventLog.EventLog, EventLog.StoreError | SchemaTooNew> =>
  layerWith(options).pipe(Layer.provide(clientLayer(options)))

/** The log at `DATABASE_URL`; `options` set the rest. */
export const layerConfig = (
  options: Omit<Options, "url"> = {}
): Layer.Layer<EventLog.EventLog, EventLog.StoreError | SchemaTooNew | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.redacted("DATABASE_URL"), (url) => layer({ ...options, url })))

/**
 * `layerWith` over a fresh schema of its own and a pool for `options`; the schema is dropped with
 * everything in it when the layer is released.
 */
export const temporary = <A, E>(
  options: Omit<Options, "schema">,
  layerWith: (options: LogOptions) => Layer.Layer<A, E, PgClient.PgClient>
): Layer.Layer<A, E | EventLog.StoreError> =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      const schema = `tessera_tmp_${Math.random().toString(36).slice(2, 14)}`
      const drop = Layer.scopedDiscard(
        Effect.gen(function* () {
          const sql = yield* PgClient.PgClient
          yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`))
        })
      )
      return layerWith({ ...options, schema }).pipe(Layer.provide(Layer.provideMerge(drop, clientLayer(options))))
    })
  )

/**
 * A log in a fresh schema of its own, dropped with everything in it when the layer is released:
 * for tests, and for throwaway pipelines against a shared server.
 */
export const layerTemporary = (
  options: Omit<Options, "schema"> = {}
): Layer.Layer<EventLog.EventLog, EventLog.StoreError | SchemaTooNew> => temporary(options, layerWith)
