/**
 * One append, decided: drop events already in the log, check the append's expectations against the
 * current rows, and reduce the new events over them. Every store runs this inside its own atomic
 * step (a write transaction, a lock, a Delta commit), so all stores agree on what an append means.
 */
import { Effect, Either } from "effect"
import type { BuildEvent, LoggedEvent } from "../event/BuildEvent.js"
import type { AppendResult } from "../log/EventLog.js"
import { AppendConflict, InvalidTransition } from "./Errors.js"
import { Claimable, type Expectation } from "./Expectation.js"
import { addKeys, emptyKeys, emptyState, reduce, type State } from "./Reducer.js"
import { type BuildRequestRow, isLiveClaim, type JobRunRow, type PartitionRow } from "./Views.js"

/** How a store hands the batch the current rows and ids it needs. Missing keys are simply absent. */
export interface Loader<E> {
  readonly existingEventIds: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, E>
  readonly partitions: (refs: ReadonlyArray<string>) => Effect.Effect<Iterable<PartitionRow>, E>
  readonly jobRuns: (ids: ReadonlyArray<string>) => Effect.Effect<Iterable<JobRunRow>, E>
  readonly buildRequests: (ids: ReadonlyArray<string>) => Effect.Effect<Iterable<BuildRequestRow>, E>
  /** What the loader holds at hand: an append whose every key it answers is decided without an effect. */
  readonly known?: Known | undefined
}

/**
 * Answers a loader gives at once, for rows it holds (in memory, or fetched for a group up front):
 * `undefined` is "not held here", and the append is then decided through the loader's effects; `null`
 * is "held, and absent". Nearly every append is decided this way, as plain code, where going through
 * an effect per lookup cost an append several times the reducer's own work.
 */
export interface Known {
  readonly hasEvent: (eventId: string) => boolean | undefined
  readonly partition: (ref: string) => PartitionRow | null | undefined
  readonly jobRun: (jobRunId: string) => JobRunRow | null | undefined
  readonly buildRequest: (buildRequestId: string) => BuildRequestRow | null | undefined
}

/** A `Known` over maps that hold every row there is: an in-memory store's own state. */
export const knownIn = (state: {
  readonly eventIds: ReadonlySet<string>
  readonly partitions: ReadonlyMap<string, PartitionRow>
  readonly jobRuns: ReadonlyMap<string, JobRunRow>
  readonly buildRequests: ReadonlyMap<string, BuildRequestRow>
}): Known => ({
  hasEvent: (eventId) => state.eventIds.has(eventId),
  partition: (ref) => state.partitions.get(ref) ?? null,
  jobRun: (jobRunId) => state.jobRuns.get(jobRunId) ?? null,
  buildRequest: (buildRequestId) => state.buildRequests.get(buildRequestId) ?? null
})

/** Every event id and row key an append names: what a store can fetch in one query before deciding it. */
export interface Keys {
  readonly eventIds: ReadonlyArray<string>
  readonly refs: ReadonlyArray<string>
  readonly jobRunIds: ReadonlyArray<string>
  readonly buildRequestIds: ReadonlyArray<string>
}

/** The rows events and expectations name. */
const rowKeysOf = (events: ReadonlyArray<BuildEvent>, expect: ReadonlyArray<Expectation>) => {
  const keys = emptyKeys()
  for (const event of events) addKeys(keys, event)
  for (const expectation of expect) {
    if (expectation._tag === "JobRunIs") keys.jobRunIds.add(expectation.jobRunId)
    else keys.refs.add(expectation.ref)
  }
  return keys
}

export const keysOf = (events: ReadonlyArray<BuildEvent>, expect: ReadonlyArray<Expectation> = []): Keys => {
  const keys = rowKeysOf(events, expect)
  return {
    eventIds: [...new Set(events.map((event) => event.eventId))],
    refs: [...keys.refs],
    jobRunIds: [...keys.jobRunIds],
    buildRequestIds: [...keys.buildRequestIds]
  }
}

/** What a store fetched for `keys`: the ids already in the log and the rows that exist. */
export interface Prefetched {
  readonly existingEventIds: ReadonlySet<string>
  readonly partitions: ReadonlyMap<string, PartitionRow>
  readonly jobRuns: ReadonlyMap<string, JobRunRow>
  readonly buildRequests: ReadonlyMap<string, BuildRequestRow>
}

/** A loader over rows fetched up front, kept current across the appends of one group. */
export interface Prefetch<E> {
  readonly loader: Loader<E>
  /**
   * Makes what an append of the group decided visible to the appends decided after it, before any
   * of it is written: its events now exist and its rows are the current ones.
   */
  readonly record: (batch: Batch) => void
}

/**
 * A loader that answers from rows fetched up front for `keys` and from what earlier appends of the
 * group decided (`record`), and asks `fallback` only for keys neither holds (a heartbeat's outputs,
 * known once its run is loaded). What `fallback` finds is kept too.
 */
export const prefetched = <E>(keys: Keys, found: Prefetched, fallback: Loader<E>): Prefetch<E> => {
  const eventIds = new Set(found.existingEventIds)
  const askedIds = new Set(keys.eventIds)
  const partitions = new Map(found.partitions)
  const jobRuns = new Map(found.jobRuns)
  const buildRequests = new Map(found.buildRequests)
  const asked = {
    partitions: new Set(keys.refs),
    jobRuns: new Set(keys.jobRunIds),
    buildRequests: new Set(keys.buildRequestIds)
  }
  const serve =
    <A>(
      known: Set<string>,
      rows: Map<string, A>,
      keyOf: (row: A) => string,
      select: (keys: ReadonlyArray<string>) => Effect.Effect<Iterable<A>, E>
    ) =>
    (wanted: ReadonlyArray<string>): Effect.Effect<Iterable<A>, E> => {
      const served = () =>
        wanted.flatMap((key) => {
          const row = rows.get(key)
          return row === undefined ? [] : [row]
        })
      const missing = wanted.filter((key) => !known.has(key))
      if (missing.length === 0) return Effect.sync(served)
      return Effect.map(select(missing), (more) => {
        for (const row of more) rows.set(keyOf(row), row)
        for (const key of missing) known.add(key)
        return served()
      })
    }
  const loader: Loader<E> = {
    existingEventIds: (wanted) => {
      const missing = wanted.filter((id) => !askedIds.has(id))
      if (missing.length === 0) return Effect.succeed(eventIds)
      return Effect.map(fallback.existingEventIds(missing), (more) => {
        for (const id of missing) askedIds.add(id)
        for (const id of more) eventIds.add(id)
        return eventIds
      })
    },
    partitions: serve(asked.partitions, partitions, (row) => row.ref, fallback.partitions),
    jobRuns: serve(asked.jobRuns, jobRuns, (row) => row.jobRunId, fallback.jobRuns),
    buildRequests: serve(asked.buildRequests, buildRequests, (row) => row.buildRequestId, fallback.buildRequests),
    known: {
      hasEvent: (eventId) => (askedIds.has(eventId) ? eventIds.has(eventId) : undefined),
      partition: (ref) => (asked.partitions.has(ref) ? (partitions.get(ref) ?? null) : undefined),
      jobRun: (jobRunId) => (asked.jobRuns.has(jobRunId) ? (jobRuns.get(jobRunId) ?? null) : undefined),
      buildRequest: (buildRequestId) =>
        asked.buildRequests.has(buildRequestId) ? (buildRequests.get(buildRequestId) ?? null) : undefined
    }
  }
  const record = (batch: Batch) => {
    for (const { event } of batch.logged) {
      askedIds.add(event.eventId)
      eventIds.add(event.eventId)
    }
    for (const row of batch.partitions) {
      asked.partitions.add(row.ref)
      partitions.set(row.ref, row)
    }
    for (const row of batch.jobRuns) {
      asked.jobRuns.add(row.jobRunId)
      jobRuns.set(row.jobRunId, row)
    }
    for (const row of batch.buildRequests) {
      asked.buildRequests.add(row.buildRequestId)
      buildRequests.set(row.buildRequestId, row)
    }
  }
  return { loader, record }
}

/**
 * The batches a group decided in order, as one write: every event, and each changed row once, as
 * the last batch to change it left it.
 */
const merge = (batches: ReadonlyArray<Batch>): Batch => {
  if (batches.length === 1) return batches[0]!
  const last = <A>(rows: (batch: Batch) => ReadonlyArray<A>, keyOf: (row: A) => string): ReadonlyArray<A> => {
    const byKey = new Map<string, A>()
    for (const batch of batches) for (const row of rows(batch)) byKey.set(keyOf(row), row)
    return [...byKey.values()]
  }
  return {
    logged: batches.flatMap((batch) => batch.logged),
    duplicates: batches.reduce((sum, batch) => sum + batch.duplicates, 0),
    partitions: last(
      (batch) => batch.partitions,
      (row) => row.ref
    ),
    jobRuns: last(
      (batch) => batch.jobRuns,
      (row) => row.jobRunId
    ),
    buildRequests: last(
      (batch) => batch.buildRequests,
      (row) => row.buildRequestId
    )
  }
}

export interface BatchOptions {
  /** The seq the first new event gets: the log's head + 1. */
  readonly firstSeq: number
  /** The store's time: leases are judged at it, and it is recorded as the events' `appendedAt`. */
  readonly now: number
  readonly expect?: ReadonlyArray<Expectation> | undefined
}

/** What the store must write: the new events and every row they changed. */
export interface Batch {
  readonly logged: ReadonlyArray<LoggedEvent>
  /** Events skipped because their id is already in the log (or earlier in this batch). */
  readonly duplicates: number
  readonly partitions: ReadonlyArray<PartitionRow>
  readonly jobRuns: ReadonlyArray<JobRunRow>
  readonly buildRequests: ReadonlyArray<BuildRequestRow>
}

/** Why the reducer or an expectation refused an append: it alone fails, and a group goes on. */
export type Refusal = AppendConflict | InvalidTransition

const isRefusal = (error: unknown): error is Refusal =>
  error instanceof AppendConflict || error instanceof InvalidTransition

/** The events of an append without repeats of one id, in order. */
const distinct = (events: ReadonlyArray<BuildEvent>): Array<BuildEvent> => {
  const seen = new Set<string>()
  const unique: Array<BuildEvent> = []
  for (const event of events) {
    if (!seen.has(event.eventId)) {
      seen.add(event.eventId)
      unique.push(event)
    }
  }
  return unique
}

/** Heartbeats touch the outputs of their run, known only once the run's row is loaded. */
const heartbeatOutputs = (state: State, fresh: ReadonlyArray<BuildEvent>) => {
  const outputs = new Set<string>()
  for (const event of fresh) {
    if (event._tag === "JobRunHeartbeat")
      for (const ref of state.jobRuns.get(event.jobRunId)?.outputs ?? []) outputs.add(ref)
  }
  return outputs
}

const nothingNew = (duplicates: number): Batch => ({
  logged: [],
  duplicates,
  partitions: [],
  jobRuns: [],
  buildRequests: []
})

/** The rest of a decision once `state` holds every row it names: expectations checked, events reduced. */
const settle = (
  state: State,
  fresh: ReadonlyArray<BuildEvent>,
  duplicates: number,
  options: BatchOptions
): Either.Either<Batch, Refusal> => {
  for (const expectation of options.expect ?? []) {
    const conflict = check(state, expectation, options.now)
    if (conflict !== undefined) return Either.left(conflict)
  }
  const before = {
    partitions: new Map(state.partitions),
    jobRuns: new Map(state.jobRuns),
    buildRequests: new Map(state.buildRequests)
  }
  const logged: Array<LoggedEvent> = []
  for (const event of fresh) {
    const entry = { seq: options.firstSeq + logged.length, event, appendedAt: options.now }
    const claimConflict = implicitClaimConflict(state, event, options.now)
    if (claimConflict !== undefined) return Either.left(claimConflict)
    const refused = reduce(state, entry, options.now)
    if (refused !== undefined) return Either.left(refused)
    logged.push(entry)
  }
  return Either.right({
    logged,
    duplicates,
    partitions: changed(before.partitions, state.partitions),
    jobRuns: changed(before.jobRuns, state.jobRuns),
    buildRequests: changed(before.buildRequests, state.buildRequests)
  })
}

/** Puts the rows of `keys` that `known` holds into `state`; false when it lacks one. */
const fillKnown = (
  known: Known,
  state: State,
  keys: { refs: Iterable<string>; jobRunIds: Iterable<string>; buildRequestIds: Iterable<string> }
): boolean => {
  for (const ref of keys.refs) {
    const row = known.partition(ref)
    if (row === undefined) return false
    if (row !== null) state.partitions.set(ref, row)
  }
  for (const jobRunId of keys.jobRunIds) {
    const row = known.jobRun(jobRunId)
    if (row === undefined) return false
    if (row !== null) state.jobRuns.set(jobRunId, row)
  }
  for (const buildRequestId of keys.buildRequestIds) {
    const row = known.buildRequest(buildRequestId)
    if (row === undefined) return false
    if (row !== null) state.buildRequests.set(buildRequestId, row)
  }
  return true
}

/** The decision from what `known` holds, as plain code; `undefined` when it lacks a row or id the append names. */
const decideKnown = (
  known: Known,
  events: ReadonlyArray<BuildEvent>,
  options: BatchOptions
): Either.Either<Batch, Refusal> | undefined => {
  const fresh: Array<BuildEvent> = []
  for (const event of distinct(events)) {
    const exists = known.hasEvent(event.eventId)
    if (exists === undefined) return undefined
    if (!exists) fresh.push(event)
  }
  const duplicates = events.length - fresh.length
  // A retry of an append that already landed succeeds without re-checking its expectations.
  if (fresh.length === 0) return Either.right(nothingNew(duplicates))
  const state = emptyState()
  if (!fillKnown(known, state, rowKeysOf(fresh, options.expect ?? []))) return undefined
  if (!fillKnown(known, state, { refs: heartbeatOutputs(state, fresh), jobRunIds: [], buildRequestIds: [] })) {
    return undefined
  }
  return settle(state, fresh, duplicates, options)
}

const loadInto = <E>(
  loader: Loader<E>,
  state: State,
  keys: { refs: Iterable<string>; jobRunIds: Iterable<string>; buildRequestIds: Iterable<string> }
) =>
  Effect.gen(function* () {
    const refs = [...keys.refs].filter((ref) => !state.partitions.has(ref))
    const jobRunIds = [...keys.jobRunIds].filter((id) => !state.jobRuns.has(id))
    const buildRequestIds = [...keys.buildRequestIds].filter((id) => !state.buildRequests.has(id))
    if (refs.length > 0) for (const row of yield* loader.partitions(refs)) state.partitions.set(row.ref, row)
    if (jobRunIds.length > 0) for (const row of yield* loader.jobRuns(jobRunIds)) state.jobRuns.set(row.jobRunId, row)
    if (buildRequestIds.length > 0) {
      for (const row of yield* loader.buildRequests(buildRequestIds)) state.buildRequests.set(row.buildRequestId, row)
    }
  })

/** The decision through the loader's effects: for appends that name what the loader does not hold at hand. */
const decideLoading = <E>(
  loader: Loader<E>,
  events: ReadonlyArray<BuildEvent>,
  options: BatchOptions
): Effect.Effect<Batch, E | Refusal> =>
  Effect.gen(function* () {
    const unique = distinct(events)
    const existing =
      unique.length === 0 ? new Set<string>() : yield* loader.existingEventIds(unique.map((event) => event.eventId))
    const fresh = existing.size === 0 ? unique : unique.filter((event) => !existing.has(event.eventId))
    const duplicates = events.length - fresh.length
    if (fresh.length === 0) return nothingNew(duplicates)
    const state = emptyState()
    yield* loadInto(loader, state, rowKeysOf(fresh, options.expect ?? []))
    yield* loadInto(loader, state, { refs: heartbeatOutputs(state, fresh), jobRunIds: [], buildRequestIds: [] })
    return yield* settle(state, fresh, duplicates, options)
  })

export const decide = <E>(
  loader: Loader<E>,
  events: ReadonlyArray<BuildEvent>,
  options: BatchOptions
): Effect.Effect<Batch, E | Refusal> =>
  Effect.suspend(() => {
    const known = loader.known === undefined ? undefined : decideKnown(loader.known, events, options)
    return known ?? decideLoading(loader, events, options)
  })

/** One append of a group: its events and the expectations it was made under. */
export interface Append {
  readonly events: ReadonlyArray<BuildEvent>
  readonly expect?: ReadonlyArray<Expectation> | undefined
}

/** Every id and row key a group of appends names: one prefetch serves the whole group. */
export const keysOfGroup = (appends: ReadonlyArray<Append>): Keys =>
  keysOf(
    appends.flatMap((append) => append.events),
    appends.flatMap((append) => append.expect ?? [])
  )

/** What a group decided: one result per append, and everything to write as one batch (none when nothing is new). */
export interface DecidedGroup {
  readonly results: Array<Either.Either<AppendResult, Refusal>>
  readonly written: Batch | undefined
}

/**
 * Decides the appends of a group in order, the first at seq `head + 1`, each against what the
 * earlier ones decided (the prefetch learns each decision before the next is made). An append its
 * expectations or the reducer refuse is a `Left` and the others go on; any other failure fails the
 * group.
 */
export const decideGroup = <E>(
  appends: ReadonlyArray<Append>,
  options: { readonly head: number; readonly now: number; readonly prefetch: Prefetch<E> }
): Effect.Effect<DecidedGroup, E> =>
  Effect.suspend(() => {
    const { loader } = options.prefetch
    let head = options.head
    const results: DecidedGroup["results"] = []
    const batches: Array<Batch> = []
    const take = (decided: Either.Either<Batch, Refusal>) => {
      if (Either.isLeft(decided)) {
        results.push(Either.left(decided.left))
        return
      }
      const batch = decided.right
      options.prefetch.record(batch)
      if (batch.logged.length > 0) batches.push(batch)
      head += batch.logged.length
      results.push(Either.right({ appended: batch.logged, duplicates: batch.duplicates, head }))
    }
    // Appends the prefetch answers are decided in one synchronous pass; one that needs a lookup
    // goes through the loader, and the pass goes on after it.
    const from = (first: number): Effect.Effect<DecidedGroup, E> => {
      for (let i = first; i < appends.length; i++) {
        const append = appends[i]!
        const batchOptions = { firstSeq: head + 1, now: options.now, expect: append.expect }
        const known = loader.known === undefined ? undefined : decideKnown(loader.known, append.events, batchOptions)
        if (known === undefined) {
          return Effect.flatMap(Effect.either(decideLoading(loader, append.events, batchOptions)), (decided) => {
            if (Either.isLeft(decided) && !isRefusal(decided.left)) return Effect.fail(decided.left)
            take(decided as Either.Either<Batch, Refusal>)
            return from(i + 1)
          })
        }
        take(known)
      }
      return Effect.succeed({ results, written: batches.length === 0 ? undefined : merge(batches) })
    }
    return from(0)
  })

const changed = <A>(before: ReadonlyMap<string, A>, after: ReadonlyMap<string, A>): ReadonlyArray<A> => {
  const out: Array<A> = []
  for (const [key, row] of after) if (before.get(key) !== row) out.push(row)
  return out
}

const describeHolder = (row: PartitionRow) =>
  `${row.ref} is ${row.status} under job run ${row.jobRunId} of build ${row.buildRequestId}` +
  (row.leaseExpiresAt === undefined ? "" : ` (lease until ${new Date(row.leaseExpiresAt).toISOString()})`)

/** Claiming a partition another run holds live is a conflict even when the caller forgot to expect it. */
const implicitClaimConflict = (state: State, event: BuildEvent, now: number): AppendConflict | undefined => {
  if (event._tag !== "PartitionStatusChanged" || event.status !== "SCHEDULED" || event.jobRunId === undefined)
    return undefined
  const row = state.partitions.get(event.partitionRef)
  if (row === undefined || row.jobRunId === event.jobRunId || !isLiveClaim(row, now)) return undefined
  return new AppendConflict({
    expectation: new Claimable({ ref: event.partitionRef, except: event.jobRunId }),
    reason: describeHolder(row),
    partition: row
  })
}

const check = (state: State, expectation: Expectation, now: number): AppendConflict | undefined => {
  const conflict = (reason: string, rows: { partition?: PartitionRow | undefined; jobRun?: JobRunRow | undefined }) =>
    new AppendConflict({
      expectation,
      reason,
      ...(rows.partition === undefined ? {} : { partition: rows.partition }),
      ...(rows.jobRun === undefined ? {} : { jobRun: rows.jobRun })
    })
  switch (expectation._tag) {
    case "Claimable": {
      const row = state.partitions.get(expectation.ref)
      if (row === undefined || row.jobRunId === expectation.except || !isLiveClaim(row, now)) return undefined
      return conflict(describeHolder(row), { partition: row })
    }
    case "PartitionIs": {
      const row = state.partitions.get(expectation.ref)
      const status = row?.status ?? "UNKNOWN"
      if (expectation.statuses.includes(status)) return undefined
      return conflict(`${expectation.ref} is ${status}, not ${expectation.statuses.join(" or ")}`, { partition: row })
    }
    case "AvailableAtOrBefore": {
      const row = state.partitions.get(expectation.ref)
      if (
        row?.status === "AVAILABLE" &&
        row.lastAvailableSeq !== undefined &&
        row.lastAvailableSeq <= expectation.maxSeq
      ) {
        return undefined
      }
      const why =
        row?.status === "AVAILABLE"
          ? `${expectation.ref} was rebuilt at seq ${row.lastAvailableSeq}, after seq ${expectation.maxSeq}`
          : `${expectation.ref} is ${row?.status ?? "UNKNOWN"}, not AVAILABLE`
      return conflict(why, { partition: row })
    }
    case "HeldBy": {
      const row = state.partitions.get(expectation.ref)
      if (row !== undefined && row.jobRunId === expectation.jobRunId && isLiveClaim(row, now)) return undefined
      const why =
        row !== undefined && isLiveClaim(row, now)
          ? describeHolder(row)
          : `job run ${expectation.jobRunId} no longer holds ${expectation.ref} under a live lease`
      return conflict(why, { partition: row })
    }
    case "Unchanged": {
      const row = state.partitions.get(expectation.ref)
      const updatedSeq = row?.updatedSeq ?? 0
      if (updatedSeq === expectation.updatedSeq) return undefined
      const now = row === undefined ? "UNKNOWN" : `${row.status} since seq ${updatedSeq}`
      return conflict(`${expectation.ref} changed after seq ${expectation.updatedSeq}: it is ${now}`, {
        partition: row
      })
    }
    case "NotRebuiltAfter": {
      const row = state.partitions.get(expectation.ref)
      const last = row?.lastAvailableSeq ?? 0
      if (last <= expectation.seq) return undefined
      return conflict(`${expectation.ref} became AVAILABLE again at seq ${last}, after seq ${expectation.seq}`, {
        partition: row
      })
    }
    case "JobRunIs": {
      const row = state.jobRuns.get(expectation.jobRunId)
      const status = row?.status ?? "ABSENT"
      if (expectation.statuses.includes(status)) return undefined
      return conflict(`job run ${expectation.jobRunId} is ${status}, not ${expectation.statuses.join(" or ")}`, {
        jobRun: row
      })
    }
  }
}
