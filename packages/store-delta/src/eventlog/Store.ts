import {
  Batch,
  type BuildEvent,
  EventCodec,
  EventFilter,
  EventLog,
  Queries,
  Reading,
  Reducer,
  Spans,
  type Views,
  Wakeup
} from "@tessera/core"
import { Clock, Deferred, Duration, Effect, Either, Layer, Option, Queue, Runtime } from "effect"
import { watch } from "node:fs"
import * as Path from "node:path"
import { removeFile } from "../Fs.js"
import type { Metadata } from "../reader/Actions.js"
import { logDir } from "../reader/Listing.js"
import { readParquetRows } from "../reader/Parquet.js"
import { readCommit } from "../reader/Snapshot.js"
import { putIfAbsent, serializeActions } from "../writer/Commit.js"
import { checkpointInterval } from "../writer/Config.js"
import { checkpointAt, compact, encodeDataFiles, newFiles, openOrCreateTable } from "../writer/Table.js"
import {
  eventPartitionColumns,
  eventSchema,
  eventSchemaWithoutAppendedAt,
  eventStatsColumns,
  schemaOf,
  toColumns
} from "./Table.js"

export interface DeltaEventLogOptions {
  /** The folder of the Delta table; created (with version 0) when it has no table yet. */
  readonly path: string
  /** Checkpoint every this many commits unless the table sets `delta.checkpointInterval`. Default 100. */
  readonly checkpointInterval?: number
  /** How often a tail looks for commits when no file-system event woke it. Default 1 second. */
  readonly pollInterval?: Duration.DurationInput
  /**
   * Every this many commits the appending process compacts the table: each day's small files are
   * rewritten into one (`dataChange: false`), so a long-running log keeps a bounded number of active
   * files. Default 50; 0 turns it off.
   */
  readonly compactEvery?: number
  /** A day is compacted only once it has at least this many small files. Default 10. */
  readonly compactMinFiles?: number
}

/**
 * Rewrites each day's small files of an event log table into one, sorted by `seq` and committed with
 * `dataChange: false`; what auto-compaction and `tessera compact` run.
 */
export const compactLog = (tablePath: string, options: { readonly minFiles?: number | undefined } = {}) =>
  compact(tablePath, { minFiles: options.minFiles ?? 10, sortBy: "seq", statsColumns: eventStatsColumns })

/** Auto-compaction. A failure is logged: the appends stand. */
const compactAfter = (tablePath: string, version: number, options: DeltaEventLogOptions) =>
  compactLog(tablePath, { minFiles: options.compactMinFiles }).pipe(
    Effect.asVoid,
    Effect.catchAll((error) =>
      Effect.logWarning(`Compacting ${tablePath} after version ${version} failed: ${error.message}`)
    )
  )

/** Whether the versions after `done` up to `version` crossed a multiple of `every`. */
const crossed = (done: number, version: number, every: number) =>
  every > 0 && Math.floor(version / every) > Math.floor(done / every)

const STORE = "delta"

const storeError = (operation: string) => (error: { readonly message: string }) =>
  new EventLog.StoreError({ store: STORE, operation, reason: error.message })

interface Pending {
  readonly events: ReadonlyArray<BuildEvent.BuildEvent>
  readonly expect: EventLog.AppendOptions["expect"]
  readonly done: Deferred.Deferred<EventLog.AppendResult, EventLog.AppendError>
}

/** Rows changed by the batches of one group commit, layered over the committed views until the commit lands. */
interface Overlay {
  readonly partitions: Map<string, Views.PartitionRow>
  readonly jobRuns: Map<string, Views.JobRunRow>
  readonly buildRequests: Map<string, Views.BuildRequestRow>
  readonly eventIds: Set<string>
  readonly logged: Array<BuildEvent.LoggedEvent>
}

const pick = <A>(maps: ReadonlyArray<ReadonlyMap<string, A>>, keys: ReadonlyArray<string>): Array<A> => {
  const out: Array<A> = []
  for (const key of new Set(keys)) {
    for (const map of maps) {
      const row = map.get(key)
      if (row !== undefined) {
        out.push(row)
        break
      }
    }
  }
  return out
}

/** A timestamp column's value in ms, as hyparquet returns it (a Date, or microseconds). */
const millisOf = (value: unknown): number | undefined =>
  value instanceof Date ? value.getTime() : typeof value === "bigint" ? Number(value / 1000n) : undefined

/**
 * Reads the events of data files (seq, payload and appendedAt only), in seq order. An event of a
 * table without `appendedAt` reads as appended at its timestamp.
 */
const readEvents = (paths: ReadonlyArray<string>) =>
  Effect.forEach(paths, (path) => readParquetRows(path, { columns: ["seq", "payload", "appendedAt"] }), {
    concurrency: 8
  }).pipe(
    Effect.map((files) => files.flat().sort((a, b) => Number(a.seq as bigint) - Number(b.seq as bigint))),
    Effect.flatMap((rows) =>
      Effect.forEach(rows, (row) => {
        const seq = Number(row.seq as bigint)
        return Either.match(EventCodec.decode(String(row.payload), seq), {
          onLeft: Effect.fail,
          onRight: (event) =>
            Effect.succeed<BuildEvent.LoggedEvent>({
              seq,
              event,
              appendedAt: millisOf(row.appendedAt) ?? event.timestamp
            })
        })
      })
    )
  )

/**
 * The build event log as a Delta table. Views live in memory, rebuilt at start from the table
 * (checkpoint plus commits) and kept current by reading each newer commit. An append is decided
 * against the views as of the version it commits on; losing the race for that version means
 * reading the winner and deciding again, so `expect` is always checked at commit time.
 */
export const make = (options: DeltaEventLogOptions) =>
  Effect.gen(function* () {
    const tablePath = options.path
    const initial = yield* openOrCreateTable(tablePath, {
      schema: eventSchema,
      earlierSchemas: [eventSchemaWithoutAppendedAt],
      partitionColumns: eventPartitionColumns
    }).pipe(Effect.mapError(storeError("open")))

    const events: Array<BuildEvent.LoggedEvent> = []
    const eventIds = new Set<string>()
    const state = Reducer.emptyState()
    let version = initial.version
    let metadata: Metadata = initial.metadata

    const ingest = (logged: ReadonlyArray<BuildEvent.LoggedEvent>) =>
      Effect.gen(function* () {
        for (const entry of logged) {
          if (entry.seq !== events.length + 1) {
            return yield* new EventLog.StoreError({
              store: STORE,
              operation: "replay",
              reason: `seq ${entry.seq} follows seq ${events.length}: the event table has a gap or a duplicate`
            })
          }
          const refused = Reducer.reduce(state, entry)
          if (refused !== undefined) return yield* storeError("replay")(refused)
          events.push(entry)
          eventIds.add(entry.event.eventId)
        }
      })

    yield* readEvents(initial.files.map((file) => file.absolutePath)).pipe(
      Effect.mapError(storeError("open")),
      Effect.flatMap(ingest)
    )

    const lock = yield* Effect.makeSemaphore(1)
    const wakeup = yield* Wakeup.make

    /** Applies every commit after `version`: new data files (dataChange) carry events; compactions carry none. */
    const catchUp = Effect.gen(function* () {
      for (;;) {
        const next = yield* readCommit(tablePath, version + 1).pipe(Effect.mapError(storeError("read commit")))
        if (Option.isNone(next)) return
        const paths: Array<string> = []
        for (const action of next.value) {
          if (action._tag === "add" && action.add.dataChange) {
            paths.push(Path.join(tablePath, decodeURIComponent(action.add.path)))
          } else if (action._tag === "metaData") {
            metadata = action.metaData
          }
        }
        yield* ingest(yield* readEvents(paths).pipe(Effect.mapError(storeError("read events"))))
        version++
        yield* wakeup.signal
      }
    })

    const synced = <A, E>(effect: Effect.Effect<A, E>) => lock.withPermits(1)(Effect.zipRight(catchUp, effect))

    const commitGroup = (group: ReadonlyArray<Pending>) =>
      Effect.gen(function* () {
        for (;;) {
          yield* catchUp
          const now = yield* Clock.currentTimeMillis
          const overlay: Overlay = {
            partitions: new Map(),
            jobRuns: new Map(),
            buildRequests: new Map(),
            eventIds: new Set(),
            logged: []
          }
          const loader: Batch.Loader<never> = {
            existingEventIds: (ids) =>
              Effect.sync(() => new Set(ids.filter((id) => eventIds.has(id) || overlay.eventIds.has(id)))),
            partitions: (refs) => Effect.sync(() => pick([overlay.partitions, state.partitions], refs)),
            jobRuns: (ids) => Effect.sync(() => pick([overlay.jobRuns, state.jobRuns], ids)),
            buildRequests: (ids) => Effect.sync(() => pick([overlay.buildRequests, state.buildRequests], ids)),
            known: {
              hasEvent: (id) => eventIds.has(id) || overlay.eventIds.has(id),
              partition: (ref) => overlay.partitions.get(ref) ?? state.partitions.get(ref) ?? null,
              jobRun: (id) => overlay.jobRuns.get(id) ?? state.jobRuns.get(id) ?? null,
              buildRequest: (id) => overlay.buildRequests.get(id) ?? state.buildRequests.get(id) ?? null
            }
          }
          const outcomes: Array<Either.Either<Batch.Batch, EventLog.AppendError>> = []
          for (const pending of group) {
            const decided = yield* Effect.either(
              Batch.decide(loader, pending.events, {
                firstSeq: events.length + overlay.logged.length + 1,
                now,
                expect: pending.expect
              })
            )
            if (Either.isRight(decided)) {
              const batch = decided.right
              for (const entry of batch.logged) {
                overlay.logged.push(entry)
                overlay.eventIds.add(entry.event.eventId)
              }
              for (const row of batch.partitions) overlay.partitions.set(row.ref, row)
              for (const row of batch.jobRuns) overlay.jobRuns.set(row.jobRunId, row)
              for (const row of batch.buildRequests) overlay.buildRequests.set(row.buildRequestId, row)
            }
            outcomes.push(decided)
          }
          if (overlay.logged.length > 0) {
            const table = {
              tablePath,
              schema: schemaOf(metadata.schemaString),
              partitionColumns: eventPartitionColumns
            }
            const written = yield* encodeDataFiles(table, toColumns(overlay.logged), {
              statsColumns: eventStatsColumns
            }).pipe(Effect.mapError(storeError("append")))
            const content = serializeActions([
              {
                _tag: "commitInfo",
                commitInfo: {
                  timestamp: now,
                  operation: "WRITE",
                  operationParameters: { mode: "Append" },
                  readVersion: version,
                  isBlindAppend: false,
                  engineInfo: "tessera-store-delta"
                }
              },
              ...written.map((file) => ({ _tag: "add" as const, add: file.add }))
            ])
            const won = yield* putIfAbsent(tablePath, version + 1, content, newFiles(written)).pipe(
              Effect.mapError(storeError("commit"))
            )
            if (!won) {
              // Another writer took this version: drop our file, learn its events, decide again.
              yield* Effect.forEach(written, (file) => removeFile(file.absolutePath), { discard: true }).pipe(
                Effect.ignore
              )
              continue
            }
            version++
            for (const entry of overlay.logged) {
              events.push(entry)
              eventIds.add(entry.event.eventId)
            }
            for (const [key, row] of overlay.partitions) state.partitions.set(key, row)
            for (const [key, row] of overlay.jobRuns) state.jobRuns.set(key, row)
            for (const [key, row] of overlay.buildRequests) state.buildRequests.set(key, row)
            yield* wakeup.signal
            yield* Queue.offer(maintenance, version)
          }
          const head = events.length
          for (let i = 0; i < group.length; i++) {
            const outcome = outcomes[i]!
            yield* Either.match(outcome, {
              onLeft: (error) => Deferred.fail(group[i]!.done, error),
              onRight: (batch) =>
                Deferred.succeed(group[i]!.done, { appended: batch.logged, duplicates: batch.duplicates, head })
            })
          }
          return
        }
      })

    /**
     * Checkpoints and compactions run in a fiber of their own, after the appends whose commits crossed
     * their interval have resolved: neither is needed for an append to be durable, and inline they
     * doubled the average append's time. The fiber takes the newest committed version (older ones
     * queued behind it are dropped: one checkpoint of the newest version covers them all) and does
     * what the versions since its last run call for. Each step is crash-safe on its own: a checkpoint
     * is written under a temp name and renamed, a compaction is one commit (its rewritten files are
     * unnamed until then, and vacuum deletes them if it never lands), and a compaction racing an
     * append for a version loses or wins like any other writer. Closing the log waits for a step in
     * progress (interrupted, it left its temp files behind), then stops the fiber; a step the closing
     * skipped is done by the next interval's run.
     */
    const maintenance = yield* Effect.acquireRelease(Queue.sliding<number>(1), Queue.shutdown)
    let checkpointed = version
    let compacted = version
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          const committed = yield* Queue.take(maintenance)
          yield* Effect.uninterruptible(
            Effect.gen(function* () {
              if (crossed(checkpointed, committed, checkpointInterval(metadata, options.checkpointInterval ?? 100))) {
                yield* checkpointAt(tablePath, committed)
                checkpointed = committed
              }
              if (crossed(compacted, committed, options.compactEvery ?? 50)) {
                yield* compactAfter(tablePath, committed, options)
                compacted = committed
              }
            })
          )
        })
      )
    )

    // Group commit: appends waiting while a commit is in flight share the next one.
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending>(), Queue.shutdown)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          const first = yield* Queue.take(queue)
          const rest = yield* Queue.takeAll(queue)
          const group = [first, ...rest]
          // Any failure, a defect too, answers the group: the committer must live on, or every later append waits forever.
          yield* lock
            .withPermits(1)(commitGroup(group))
            .pipe(
              Effect.catchAllCause((cause) =>
                Effect.forEach(group, (pending) => Deferred.failCause(pending.done, cause), { discard: true })
              )
            )
        })
      )
    )

    const append: EventLog.EventLogShape["append"] = (batch, appendOptions) =>
      Effect.gen(function* () {
        const done = yield* Deferred.make<EventLog.AppendResult, EventLog.AppendError>()
        yield* Queue.offer(queue, { events: batch, expect: appendOptions?.expect, done })
        return yield* Deferred.await(done)
      }).pipe(Spans.hot("EventLog.append", { attributes: { store: STORE, events: batch.length } }))

    const readLocal = (filter: EventFilter.EventFilter, readOptions?: EventLog.ReadOptions): EventLog.EventPage => {
      const limit = Queries.limitOf(readOptions?.limit)
      const out: Array<BuildEvent.LoggedEvent> = []
      if (EventFilter.isEmpty(filter)) return { events: out }
      for (let i = Math.max(0, readOptions?.after ?? 0); i < events.length; i++) {
        const entry = events[i]!
        if (!EventFilter.matches(filter, entry.event)) continue
        if (out.length === limit) return { events: out, next: out[out.length - 1]!.seq }
        out.push(entry)
      }
      return { events: out }
    }

    const read = (filter: EventFilter.EventFilter, readOptions?: EventLog.ReadOptions) =>
      synced(Effect.sync(() => readLocal(filter, readOptions)))

    // File-system events only wake tails early; the poll and the version cursor are what guarantee delivery.
    // Only a commit newer than the views wakes the tails: a temp file, a checkpoint, or a commit this
    // process made (it signalled already) is no news, and each wake-up runs a fiber.
    const runtime = yield* Effect.runtime<never>()
    const wake = (_event: string, name: string | null) => {
      const commit = name === null ? undefined : /^(\d{20})\.json$/.exec(name)
      if (commit === null || (commit !== undefined && Number(commit[1]) <= version)) return
      Runtime.runFork(runtime)(wakeup.signal)
    }
    yield* Effect.acquireRelease(Effect.try(() => watch(logDir(tablePath), wake)).pipe(Effect.option), (watcher) =>
      Effect.sync(() => Option.map(watcher, (w) => w.close()))
    )

    const pollInterval = options.pollInterval ?? Duration.seconds(1)
    const head = synced(Effect.sync(() => events.length))
    const shape: EventLog.EventLogShape = {
      store: STORE,
      append,
      read,
      stream: (filter, streamOptions) => Reading.stream(read, filter, streamOptions?.after),
      tail: (filter, tailOptions) =>
        Reading.tail(read, filter, { after: tailOptions?.after, head, wakeup, pollInterval }),
      head,
      partitions: (query) =>
        synced(
          Effect.sync(() =>
            Queries.pageOf(
              query.refs === undefined ? state.partitions.values() : pick([state.partitions], query.refs),
              (row) => row.ref,
              (row) => Queries.matchesPartition(query, row),
              query.limit
            )
          )
        ),
      jobRuns: (query) =>
        synced(
          Effect.sync(() =>
            Queries.pageOf(
              query.jobRunIds === undefined ? state.jobRuns.values() : pick([state.jobRuns], query.jobRunIds),
              (row) => row.jobRunId,
              (row) => Queries.matchesJobRun(query, row),
              query.limit
            )
          )
        ),
      buildRequests: (query) =>
        synced(
          Effect.sync(() =>
            Queries.pageOf(
              query.buildRequestIds === undefined
                ? state.buildRequests.values()
                : pick([state.buildRequests], query.buildRequestIds),
              (row) => row.buildRequestId,
              (row) => Queries.matchesBuildRequest(query, row),
              query.limit
            )
          )
        )
    }
    return shape
  })

/** The event log in the Delta table at `options.path`, open for the layer's lifetime. */
export const layer = (options: DeltaEventLogOptions): Layer.Layer<EventLog.EventLog, EventLog.StoreError> =>
  Layer.scoped(EventLog.EventLog, make(options))
