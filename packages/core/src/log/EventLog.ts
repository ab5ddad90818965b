/**
 * The store port: the build event log and its views. A store is a `Layer` that provides `EventLog`.
 */
import { Context, type Effect, Schema, type Stream } from "effect"
import type { BuildEvent, LoggedEvent } from "../event/BuildEvent.js"
import type { EventDecodeError } from "../event/EventCodec.js"
import type { AppendConflict, InvalidTransition } from "../projection/Errors.js"
import type { Expectation } from "../projection/Expectation.js"
import type { BuildRequestRow, JobRunRow, PartitionRow } from "../projection/Views.js"
import type { EventFilter } from "./EventFilter.js"
import type { BuildRequestQuery, JobRunQuery, Page, PartitionQuery } from "./Queries.js"

/** The store could not do what was asked (I/O, a lost connection, a corrupt file). */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  store: Schema.String,
  operation: Schema.String,
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `${this.store} store: ${this.operation} failed: ${this.reason}`
  }
}

export interface AppendOptions {
  /** Conditions on the current views, checked in the same atomic step as the write. */
  readonly expect?: ReadonlyArray<Expectation> | undefined
}

export interface AppendResult {
  /** The events written, with their seq; events whose id the log already had are left out. */
  readonly appended: ReadonlyArray<LoggedEvent>
  readonly duplicates: number
  /** The log's last seq after the append. */
  readonly head: number
}

export interface ReadOptions {
  /** Return events with `seq > after` (default 0: from the start). */
  readonly after?: number | undefined
  readonly limit?: number | undefined
}

export interface EventPage {
  readonly events: ReadonlyArray<LoggedEvent>
  /** The seq to pass as `after` for the next page; absent when this page reached the end of the log. */
  readonly next?: number | undefined
}

export type ReadError = StoreError | EventDecodeError
export type AppendError = AppendConflict | InvalidTransition | StoreError

export interface EventLogShape {
  /** A name for messages and spans, e.g. "sqlite". */
  readonly store: string
  /**
   * Appends `events` atomically: all land with consecutive seq, or none do. Events whose id is
   * already in the log are skipped (idempotent retries); when every event is such a duplicate the
   * append succeeds without checking `expect`.
   */
  readonly append: (
    events: ReadonlyArray<BuildEvent>,
    options?: AppendOptions
  ) => Effect.Effect<AppendResult, AppendError>
  readonly read: (filter: EventFilter, options?: ReadOptions) => Effect.Effect<EventPage, ReadError>
  /** Every matching event after `after`, in seq order, read page by page; ends at the log's head. */
  readonly stream: (filter: EventFilter, options?: { readonly after?: number }) => Stream.Stream<LoggedEvent, ReadError>
  /**
   * Every matching event after `after`, then every one appended later, exactly once and in seq
   * order. It never ends by itself. The cursor is the source of truth; wake-ups only make it early.
   */
  readonly tail: (filter: EventFilter, options?: { readonly after?: number }) => Stream.Stream<LoggedEvent, ReadError>
  /** The seq of the last event in the log (0 when empty). */
  readonly head: Effect.Effect<number, StoreError>
  /**
   * How far the log was compacted (see `Compaction`): events of builds that finished at or before
   * this seq may be gone from it, moved to an archive or dropped; 0 when never. Absent on stores
   * that keep every event (in-memory, Delta).
   */
  readonly compactedThrough?: Effect.Effect<number, StoreError> | undefined
  readonly partitions: (query: PartitionQuery) => Effect.Effect<Page<PartitionRow>, StoreError>
  readonly jobRuns: (query: JobRunQuery) => Effect.Effect<Page<JobRunRow>, StoreError>
  readonly buildRequests: (query: BuildRequestQuery) => Effect.Effect<Page<BuildRequestRow>, StoreError>
}

export class EventLog extends Context.Tag("@tessera/core/EventLog")<EventLog, EventLogShape>() {}
