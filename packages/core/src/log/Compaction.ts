/**
 * Retention: moving old events of finished builds out of a SQL log, into an archive or nowhere,
 * while the views (kept as tables beside the log) stay what they are. A store provides the
 * `Compactor` port (a handful of statements); `run` holds the protocol once for every store:
 *
 * - only events at or below the bound of builds that reached a terminal status (COMPLETED, FAILED,
 *   CANCELLED: a build never leaves one) at or below it are removed, so a build goes whole, and
 *   heartbeats go in a first pass (the bulk of a long run's events, of no use once it ended);
 * - the log's last event is never removed, so its head (which the next append counts from) never
 *   goes back and seq stays gap-free in what was ever assigned;
 * - with an archive, each chunk is first recorded as pending in the store, then written to the
 *   archive under an idempotent transaction id (the log's id, the chunk's number), then deleted in
 *   one transaction that clears the pending record. A crash anywhere leaves the old state or a
 *   pending chunk that the next run finishes; no event is archived twice, none is lost.
 */
import { Clock, Context, Duration, Effect, Either, Option, Schema } from "effect"
import type { LoggedEvent } from "../event/BuildEvent.js"
import type { ReadError, StoreError } from "./EventLog.js"

/** Which events are old enough: appended before `now - age`, or at seq ≤ `seq`. */
export type Bound =
  | { readonly _tag: "Age"; readonly age: Duration.Duration }
  | { readonly _tag: "Seq"; readonly seq: number }

/** A `--before` value or a policy's `before` that is neither a duration nor a seq. */
export class InvalidBound extends Schema.TaggedError<InvalidBound>()("InvalidBound", {
  value: Schema.String
}) {
  override get message(): string {
    return `"${this.value}" is not a bound: give a duration such as 7d, 12h, 30m or "7 days", or a seq such as 120000`
  }
}

const UNITS: Record<string, Duration.Duration> = {
  ms: Duration.millis(1),
  s: Duration.seconds(1),
  m: Duration.minutes(1),
  h: Duration.hours(1),
  d: Duration.days(1),
  w: Duration.weeks(1)
}

/** A short duration (`7d`, `90m`) as users write them in crontabs and retention settings, or Effect's own ("7 days"). */
export const parseDuration = (text: string): Either.Either<Duration.Duration, InvalidBound> => {
  const short = /^(\d+)(ms|s|m|h|d|w)$/.exec(text.trim())
  const decoded =
    short === null
      ? Duration.decodeUnknown(text.trim())
      : Option.some(Duration.times(UNITS[short[2]!]!, Number(short[1])))
  return Option.isSome(decoded) && Duration.greaterThan(decoded.value, Duration.zero)
    ? Either.right(decoded.value)
    : Either.left(new InvalidBound({ value: text }))
}

/** `120000` is a seq; anything else must be a duration. */
export const parseBound = (text: string): Either.Either<Bound, InvalidBound> =>
  /^\d+$/.test(text.trim())
    ? Either.right({ _tag: "Seq", seq: Number(text.trim()) })
    : Either.map(parseDuration(text), (age): Bound => ({ _tag: "Age", age }))

/** A chunk recorded before its archive write, so that a crash after the write does not archive it twice. */
export interface Pending {
  readonly chunk: number
  readonly seqs: ReadonlyArray<number>
  /** The archive's name: the chunk is finished only into the same archive. */
  readonly archive: string
}

/** What a store records about its compactions. */
export interface State {
  /** Identifies the log in an archive that several logs may share. */
  readonly logId: string
  /** Events of builds finished when they were compacted are gone from seq ≤ `through` (0: never compacted). */
  readonly through: number
  /** Archived chunks so far: the transaction version of the last one. */
  readonly chunks: number
  /** Events removed from the log, over every compaction. */
  readonly removed: number
  readonly pending: Pending | undefined
}

/** The statements a store gives compaction. Each is one transaction; `remove` and `begin` are the only writes. */
export interface CompactorShape {
  readonly store: string
  readonly state: Effect.Effect<State, StoreError>
  readonly head: Effect.Effect<number, StoreError>
  /** The highest seq of an event whose timestamp is before `timestamp` (0 when none). */
  readonly lastSeqBefore: (timestamp: number) => Effect.Effect<number, StoreError>
  /**
   * Up to `limit` events at `after < seq ≤ through` of builds that became terminal at or before
   * `through`, in seq order: heartbeats, or all the others.
   */
  readonly candidates: (options: {
    readonly through: number
    readonly after: number
    readonly heartbeats: boolean
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<LoggedEvent>, ReadError>
  /** The events at these seqs that are still in the log. */
  readonly events: (seqs: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<LoggedEvent>, ReadError>
  /** Records `pending` when no chunk is pending and `chunk` is the next number; false when another compactor got there first. */
  readonly begin: (pending: Pending) => Effect.Effect<boolean, StoreError>
  /**
   * Deletes the events at `seqs` whose build is terminal, raises `through`, and clears the pending
   * chunk `chunk` (counting it as archived), in one transaction; returns how many rows it deleted.
   */
  readonly remove: (
    seqs: ReadonlyArray<number>,
    options: { readonly through: number; readonly chunk?: number | undefined }
  ) => Effect.Effect<number, StoreError>
  /** Gives the space of deleted rows back (SQLite's incremental vacuum); nothing where the database does it. */
  readonly reclaim: Effect.Effect<void, StoreError>
}

export class Compactor extends Context.Tag("@tessera/core/Compactor")<Compactor, CompactorShape>() {}

/** Writing to the archive failed; the log is unchanged (the chunk stays pending and the next run finishes it). */
export class ArchiveError extends Schema.TaggedError<ArchiveError>()("ArchiveError", {
  archive: Schema.String,
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `archive ${this.archive}: ${this.reason}`
  }
}

/** Where compacted events go: appended with an idempotent transaction id, so a write done twice lands once. */
export interface Archive {
  /** For messages and the pending record, e.g. "delta:/data/archive". */
  readonly name: string
  /** The highest transaction version `appId` wrote (0 when none). */
  readonly version: (appId: string) => Effect.Effect<number, ArchiveError>
  readonly write: (
    events: ReadonlyArray<LoggedEvent>,
    txn: { readonly appId: string; readonly version: number }
  ) => Effect.Effect<void, ArchiveError>
}

/** A chunk of an earlier compaction into another archive (or with one, when none is given now) is unfinished. */
export class CompactionPending extends Schema.TaggedError<CompactionPending>()("CompactionPending", {
  store: Schema.String,
  chunk: Schema.Number,
  archive: Schema.String,
  given: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return (
      `${this.store} store: chunk ${this.chunk} of an earlier compaction into ${this.archive} was not finished ` +
      `(the process stopped mid-way); run the compaction again with --archive ${this.archive} to finish it` +
      (this.given === undefined ? "" : `, not ${this.given}`)
    )
  }
}

export interface RunOptions {
  readonly archive?: Archive | undefined
  /** Events per transaction (default 5000): each chunk holds the write lock only briefly, so appends go on. */
  readonly chunkSize?: number | undefined
}

export interface Result {
  /** The bound as a seq: events of finished builds at or below it are out of the log. */
  readonly through: number
  readonly removed: number
  readonly heartbeats: number
  readonly archived: number
  readonly head: number
}

export type CompactionError = StoreError | ReadError | ArchiveError | CompactionPending

/** The transaction id a log's chunks are archived under. */
export const appIdOf = (logId: string): string => `tessera-compaction-${logId}`

export const DEFAULT_CHUNK_SIZE = 5000

/** Compacts the log the `Compactor` in context stands for. */
export const run = Effect.fn("Compaction.run")(function* (bound: Bound, options: RunOptions = {}) {
  const compactor = yield* Compactor
  const archive = options.archive
  const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? DEFAULT_CHUNK_SIZE))
  yield* Effect.annotateCurrentSpan({ store: compactor.store, archive: archive?.name ?? "none" })

  /** Finishes a chunk an earlier run (or a concurrent one) left pending. */
  const finish = (state: State, pending: Pending) =>
    Effect.gen(function* () {
      if (archive === undefined || archive.name !== pending.archive) {
        return yield* new CompactionPending({
          store: compactor.store,
          chunk: pending.chunk,
          archive: pending.archive,
          ...(archive === undefined ? {} : { given: archive.name })
        })
      }
      const appId = appIdOf(state.logId)
      if ((yield* archive.version(appId)) < pending.chunk) {
        yield* archive.write(yield* compactor.events(pending.seqs), { appId, version: pending.chunk })
      }
      return yield* compactor.remove(pending.seqs, { through: state.through, chunk: pending.chunk })
    })

  const first = yield* compactor.state
  let removed = first.pending === undefined ? 0 : yield* finish(first, first.pending)
  let heartbeats = 0
  let archived = 0
  const now = yield* Clock.currentTimeMillis
  const head = yield* compactor.head
  const bounded = bound._tag === "Seq" ? bound.seq : yield* compactor.lastSeqBefore(now - Duration.toMillis(bound.age))
  const through = Math.max(0, Math.min(bounded, head - 1))

  for (const pass of [true, false]) {
    let after = 0
    while (true) {
      const chunk = yield* compactor.candidates({ through, after, heartbeats: pass, limit: chunkSize })
      if (chunk.length === 0) break
      const seqs = chunk.map((entry) => entry.seq)
      let deleted: number
      if (archive === undefined) deleted = yield* compactor.remove(seqs, { through })
      else {
        const state = yield* compactor.state
        if (state.pending !== undefined) {
          // Another compactor is mid-chunk: finish its chunk, then select again from the same place.
          removed += yield* finish(state, state.pending)
          continue
        }
        const number = state.chunks + 1
        if (!(yield* compactor.begin({ chunk: number, seqs, archive: archive.name }))) continue
        yield* archive.write(chunk, { appId: appIdOf(state.logId), version: number })
        deleted = yield* compactor.remove(seqs, { through, chunk: number })
        archived += chunk.length
      }
      removed += deleted
      if (pass) heartbeats += deleted
      after = seqs[seqs.length - 1]!
    }
  }
  // Records the bound even when nothing was left to delete under it.
  yield* compactor.remove([], { through })
  yield* compactor.reclaim
  return { through, removed, heartbeats, archived, head } satisfies Result
})
