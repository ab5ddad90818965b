/**
 * What this process knows of the log: its head, and the rows its own appends last read or wrote,
 * valid for as long as no other process has appended. Every change to a row comes with new events,
 * so while the log's head is still the one known here, these rows are the current ones, and an
 * append can be decided from them and sent in one message with its BEGIN and COMMIT. A row not known
 * here is guessed absent (a new build, run or partition), and the message writes only if, under
 * the append lock, the head is still the one known here and every guessed row is indeed absent.
 * Where other processes append between this one's groups more often than not, the wasted round
 * trips would cost more than they save, so groups are decided after a read until that changes.
 */
import { Batch, type Views } from "@tessera/core"
import { Effect } from "effect"

/** Rows per table held: a miss only costs the read every append made before this cache. */
const LIMIT = 10_000

/** How long the database's clock, read at a round trip, is carried forward before it is read again. */
const CLOCK_FOR_MS = 10_000

/** After a guess proved wrong, groups decided before guessing again: a run of existing rows costs one wasted round trip, not one each. */
const PAUSE_AFTER_WRONG_GUESS = 16

/**
 * How fast the estimate of how often another process appends between two groups of this one follows
 * what it sees. Above one half, deciding from known rows costs more than it saves: one round trip when
 * the head held, three (the wasted one, then the read and the write) when it moved, against two.
 */
const MOVED_WEIGHT = 0.2

/** A key → row map that forgets its oldest entries past `LIMIT`; `null` records a row known absent. */
class Bounded<A> {
  private readonly rows = new Map<string, A | null>()
  set(key: string, row: A | null) {
    // Re-inserted at the end: the rows a build keeps touching stay, the oldest go first.
    this.rows.delete(key)
    this.rows.set(key, row)
    if (this.rows.size > LIMIT) this.rows.delete(this.rows.keys().next().value!)
  }
  clear() {
    this.rows.clear()
  }
  /** The rows of `keys` known here, and the keys that are not. */
  lookup(keys: ReadonlyArray<string>): { readonly found: Map<string, A>; readonly unknown: Array<string> } {
    const found = new Map<string, A>()
    const unknown: Array<string> = []
    for (const key of keys) {
      const row = this.rows.get(key)
      if (row === undefined) unknown.push(key)
      else if (row !== null) found.set(key, row)
    }
    return { found, unknown }
  }
}

/** A group's starting point from what is known here: decide from it, then write only if `guard` still holds. */
export interface Start {
  readonly head: number
  readonly now: number
  readonly prefetch: Batch.Prefetch<never>
  /** The rows guessed absent and the event ids guessed new, as deciding the group asked for them. */
  readonly guessed: Batch.Keys
}

export interface KnownRows {
  /**
   * A start from what is known, or `undefined` when the head is not known, when other processes
   * append between this one's groups more often than not, when the database's clock was last read
   * over 10 seconds ago, or when guessing is paused.
   */
  readonly lookup: (keys: Batch.Keys) => Start | undefined
  /** What a read of the log at `head` found for `keys`, at the database's clock `now`. */
  readonly read: (head: number, now: number, keys: Batch.Keys, found: Batch.Prefetched) => void
  /** What a committed group wrote, its first event at `head + 1`. */
  readonly wrote: (batch: Batch.Batch) => void
  /** What the write of a group decided from `lookup` found. */
  readonly outcome: (outcome: "written" | "moved" | "taken") => void
  /** Forgets everything: an outcome is in doubt. */
  readonly forget: () => void
}

export const make = (): KnownRows => {
  let head: number | undefined
  /** The database's clock at the last read, and this process's monotonic clock then. */
  let clock = { database: 0, local: 0 }
  /** The latest time handed out: `appendedAt` never goes back. */
  let latest = 0
  /** Groups left before guessing again. */
  let paused = 0
  /** How often another process appended between two groups of this one, lately. */
  let moved = 0
  const observe = (movedThisTime: boolean) => {
    moved += MOVED_WEIGHT * ((movedThisTime ? 1 : 0) - moved)
  }
  const partitions = new Bounded<Views.PartitionRow>()
  const jobRuns = new Bounded<Views.JobRunRow>()
  const buildRequests = new Bounded<Views.BuildRequestRow>()

  const forget = () => {
    head = undefined
    partitions.clear()
    jobRuns.clear()
    buildRequests.clear()
  }

  return {
    lookup: (keys) => {
      if (head === undefined || moved >= 0.5 || performance.now() - clock.local > CLOCK_FOR_MS) return undefined
      const known = {
        partitions: partitions.lookup(keys.refs),
        jobRuns: jobRuns.lookup(keys.jobRunIds),
        buildRequests: buildRequests.lookup(keys.buildRequestIds)
      }
      const guessed = {
        eventIds: [...keys.eventIds],
        refs: known.partitions.unknown,
        jobRunIds: known.jobRuns.unknown,
        buildRequestIds: known.buildRequests.unknown
      }
      if (paused > 0) {
        paused--
        if (guessed.refs.length + guessed.jobRunIds.length + guessed.buildRequestIds.length > 0) return undefined
      }
      /** Rows asked for beyond the group's keys (a heartbeat's outputs): known ones, the others guessed absent. */
      const serve =
        <A>(table: Bounded<A>, into: Array<string>) =>
        (wanted: ReadonlyArray<string>) =>
          Effect.sync(() => {
            const { found, unknown } = table.lookup(wanted)
            into.push(...unknown)
            return found.values()
          })
      const beyond: Batch.Loader<never> = {
        existingEventIds: (ids) =>
          Effect.sync(() => {
            guessed.eventIds.push(...ids)
            return new Set<string>()
          }),
        partitions: serve(partitions, guessed.refs),
        jobRuns: serve(jobRuns, guessed.jobRunIds),
        buildRequests: serve(buildRequests, guessed.buildRequestIds)
      }
      // The database's clock, read at the last round trip, carried forward on the monotonic clock.
      latest = Math.max(latest, Math.round(clock.database + performance.now() - clock.local))
      return {
        head,
        now: latest,
        // Event ids are not held: every one is guessed new.
        prefetch: Batch.prefetched(
          keys,
          {
            existingEventIds: new Set(),
            partitions: known.partitions.found,
            jobRuns: known.jobRuns.found,
            buildRequests: known.buildRequests.found
          },
          beyond
        ),
        guessed
      }
    },
    read: (at, now, keys, found) => {
      // A read shows whether a group from known rows would have found the head moved.
      if (head !== undefined) observe(at !== head)
      if (at !== head) forget()
      head = at
      clock = { database: now, local: performance.now() }
      latest = Math.max(latest, now)
      for (const ref of keys.refs) partitions.set(ref, found.partitions.get(ref) ?? null)
      for (const id of keys.jobRunIds) jobRuns.set(id, found.jobRuns.get(id) ?? null)
      for (const id of keys.buildRequestIds) buildRequests.set(id, found.buildRequests.get(id) ?? null)
    },
    wrote: (batch) => {
      if (head === undefined) return
      head += batch.logged.length
      for (const row of batch.partitions) partitions.set(row.ref, row)
      for (const row of batch.jobRuns) jobRuns.set(row.jobRunId, row)
      for (const row of batch.buildRequests) buildRequests.set(row.buildRequestId, row)
    },
    outcome: (outcome) => {
      // After a wrong guess the head held; the read that follows sees that, and counts it.
      if (outcome === "taken") {
        paused = PAUSE_AFTER_WRONG_GUESS
        return
      }
      observe(outcome === "moved")
      // The read that follows a move must not count it again.
      if (outcome === "moved") forget()
    },
    forget
  }
}
