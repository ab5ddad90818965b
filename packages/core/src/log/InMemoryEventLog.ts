/**
 * The in-memory store: the reference implementation of the port. Every other store must behave
 * exactly like it. It lives as long as its layer; nothing is persisted.
 */
import { Clock, Effect, Layer } from "effect"
import type { LoggedEvent } from "../event/BuildEvent.js"
import * as Batch from "../projection/Batch.js"
import * as Spans from "../runtime/Spans.js"
import type { BuildRequestRow, JobRunRow, PartitionRow } from "../projection/Views.js"
import * as EventFilter from "./EventFilter.js"
import { EventLog, type EventLogShape, type EventPage, type ReadOptions } from "./EventLog.js"
import * as Queries from "./Queries.js"
import * as Reading from "./Reading.js"
import * as Wakeup from "./Wakeup.js"

const pick = <A>(map: ReadonlyMap<string, A>, keys: ReadonlyArray<string>): Array<A> => {
  const out: Array<A> = []
  for (const key of new Set(keys)) {
    const row = map.get(key)
    if (row !== undefined) out.push(row)
  }
  return out
}

export const make: Effect.Effect<EventLogShape> = Effect.gen(function* () {
  const events: Array<LoggedEvent> = []
  const eventIds = new Set<string>()
  const partitions = new Map<string, PartitionRow>()
  const jobRuns = new Map<string, JobRunRow>()
  const buildRequests = new Map<string, BuildRequestRow>()
  const lock = yield* Effect.makeSemaphore(1)
  const wakeup = yield* Wakeup.make

  const loader: Batch.Loader<never> = {
    existingEventIds: (ids) => Effect.sync(() => new Set(ids.filter((id) => eventIds.has(id)))),
    partitions: (refs) => Effect.sync(() => pick(partitions, refs)),
    jobRuns: (ids) => Effect.sync(() => pick(jobRuns, ids)),
    buildRequests: (ids) => Effect.sync(() => pick(buildRequests, ids)),
    known: Batch.knownIn({ eventIds, partitions, jobRuns, buildRequests })
  }

  const append: EventLogShape["append"] = (batch, options) =>
    lock
      .withPermits(1)(
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const decided = yield* Batch.decide(loader, batch, {
            firstSeq: events.length + 1,
            now,
            expect: options?.expect
          })
          for (const entry of decided.logged) {
            events.push(entry)
            eventIds.add(entry.event.eventId)
          }
          for (const row of decided.partitions) partitions.set(row.ref, row)
          for (const row of decided.jobRuns) jobRuns.set(row.jobRunId, row)
          for (const row of decided.buildRequests) buildRequests.set(row.buildRequestId, row)
          if (decided.logged.length > 0) yield* wakeup.appended(Wakeup.summarize(decided.logged))
          return { appended: decided.logged, duplicates: decided.duplicates, head: events.length }
        })
      )
      .pipe(Spans.hot("EventLog.append", { attributes: { store: "memory", events: batch.length } }))

  const read = (filter: EventFilter.EventFilter, options?: ReadOptions): Effect.Effect<EventPage> =>
    Effect.sync(() => {
      const limit = Queries.limitOf(options?.limit)
      const out: Array<LoggedEvent> = []
      if (EventFilter.isEmpty(filter)) return { events: out }
      // seq is gap-free from 1, so the event with seq n sits at index n - 1.
      for (let i = Math.max(0, options?.after ?? 0); i < events.length; i++) {
        const entry = events[i]!
        if (!EventFilter.matches(filter, entry.event)) continue
        if (out.length === limit) return { events: out, next: out[out.length - 1]!.seq }
        out.push(entry)
      }
      return { events: out }
    })

  return {
    store: "memory",
    append,
    read,
    stream: (filter, options) => Reading.stream(read, filter, options?.after),
    tail: (filter, options) =>
      Reading.tail(read, filter, {
        after: options?.after,
        head: Effect.sync(() => events.length),
        wakeup,
        pollInterval: "1 second"
      }),
    head: Effect.sync(() => events.length),
    partitions: (query) =>
      Effect.sync(() =>
        Queries.pageOf(
          query.refs === undefined ? partitions.values() : pick(partitions, query.refs),
          (row) => row.ref,
          (row) => Queries.matchesPartition(query, row),
          query.limit
        )
      ),
    jobRuns: (query) =>
      Effect.sync(() =>
        Queries.pageOf(
          query.jobRunIds === undefined ? jobRuns.values() : pick(jobRuns, query.jobRunIds),
          (row) => row.jobRunId,
          (row) => Queries.matchesJobRun(query, row),
          query.limit
        )
      ),
    buildRequests: (query) =>
      Effect.sync(() =>
        Queries.pageOf(
          query.buildRequestIds === undefined ? buildRequests.values() : pick(buildRequests, query.buildRequestIds),
          (row) => row.buildRequestId,
          (row) => Queries.matchesBuildRequest(query, row),
          query.limit
        )
      )
  }
})

/** A fresh, empty in-memory event log. */
export const layer: Layer.Layer<EventLog> = Layer.effect(EventLog, make)
