/**
 * A signal for tails: appenders `signal`, waiters take a `next` handle *before* they read, so a
 * signal between their read and their wait is never lost. An append's signal also says what it
 * appended (its seqs, the kinds and builds of its events): a tail whose filter none of that can
 * match moves past it without asking the store, so a wake-up costs a read only where it may matter.
 */
import { Deferred, Effect, Ref } from "effect"
import type { LoggedEvent } from "../event/BuildEvent.js"
import type { EventFilter } from "./EventFilter.js"

/** What one append made visible: seqs `first..last`, and the kinds and builds of those events. */
export interface Appended {
  readonly first: number
  readonly last: number
  readonly kinds: ReadonlyArray<string>
  /** Absent when the append named too many builds to list. */
  readonly builds?: ReadonlyArray<string> | undefined
}

/** The most builds an `Appended` lists (a PostgreSQL notification carries at most 8,000 bytes). */
const MAX_BUILDS = 16

/** What an append that wrote `appended` (in seq order, not empty) made visible. */
export const summarize = (appended: ReadonlyArray<LoggedEvent>): Appended => {
  const kinds = new Set<string>()
  const builds = new Set<string>()
  for (const { event } of appended) {
    kinds.add(event._tag)
    builds.add(event.buildRequestId)
  }
  return {
    first: appended[0]!.seq,
    last: appended[appended.length - 1]!.seq,
    kinds: [...kinds],
    ...(builds.size <= MAX_BUILDS ? { builds: [...builds] } : {})
  }
}

/** `Appended` as a notification payload, and back; any other payload reads as none. */
export const encode = (appended: Appended): string => JSON.stringify(appended)

export const decode = (payload: string): Appended | undefined => {
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof value !== "object" || value === null) return undefined
  const { first, last, kinds, builds } = value as Record<string, unknown>
  const strings = (list: unknown): list is ReadonlyArray<string> =>
    Array.isArray(list) && list.every((item) => typeof item === "string")
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || !strings(kinds)) return undefined
  if (builds !== undefined && !strings(builds)) return undefined
  return { first: first as number, last: last as number, kinds, ...(builds === undefined ? {} : { builds }) }
}

export interface Wakeup {
  readonly signal: Effect.Effect<void>
  /** A signal from an append, once what it wrote is visible (committed, or notified after the commit). */
  readonly appended: (appended: Appended) => Effect.Effect<void>
  /** An effect that completes at the first signal after this handle was taken. */
  readonly next: Effect.Effect<Effect.Effect<void>>
  /** The highest seq an `appended` signal made known (0 before any): every event up to it is visible. */
  readonly knownHead: Effect.Effect<number>
  /**
   * Whether an event in `after + 1..head` may match `filter`, by what the signals said: true unless
   * signals covered every one of those seqs and none of them can match.
   */
  readonly mayMatch: (filter: EventFilter, after: number, head: number) => Effect.Effect<boolean>
}

/** The appends a wake-up remembers: a tail further behind reads, as it would without them. */
const REMEMBERED = 1024

const intersects = (wanted: ReadonlyArray<string> | undefined, present: ReadonlyArray<string> | undefined) =>
  wanted === undefined || present === undefined || wanted.some((item) => present.includes(item))

export const make: Effect.Effect<Wakeup> = Effect.gen(function* () {
  const current = yield* Ref.make(yield* Deferred.make<void>())
  const signal = Effect.asVoid(
    Effect.flatMap(Deferred.make<void>(), (fresh) =>
      Effect.flatMap(Ref.getAndSet(current, fresh), (previous) => Deferred.succeed(previous, undefined))
    )
  )
  const next = Effect.map(Ref.get(current), (deferred) => Deferred.await(deferred))
  let known = 0
  const recent: Array<Appended> = []
  const appended = (summary: Appended) =>
    Effect.suspend(() => {
      if (summary.last > known) known = summary.last
      recent.push(summary)
      if (recent.length > REMEMBERED) recent.splice(0, recent.length - REMEMBERED)
      return signal
    })
  const mayMatch = (filter: EventFilter, after: number, head: number) =>
    Effect.sync(() => {
      const covering = recent
        .filter((summary) => summary.last > after && summary.first <= head)
        .sort((a, b) => a.first - b.first)
      let next = after + 1
      for (const summary of covering) {
        if (summary.first > next) return true
        if (intersects(filter.kinds, summary.kinds) && intersects(filter.buildRequestIds, summary.builds)) return true
        next = Math.max(next, summary.last + 1)
      }
      return next <= head
    })
  return { signal, appended, next, knownHead: Effect.sync(() => known), mayMatch }
})
