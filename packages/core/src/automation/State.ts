/**
 * What a sensor or schedule keeps beside the log: whether a user paused it, since when it runs
 * unpaused (a schedule catches up on ticks after that instant only), and when it last ran. Where a
 * tick fired and which file versions were seen is in the log and the catalog, not here: this state
 * is only what the log has no event for. SQL stores keep it in a small table of their own (the CLI's
 * `AutomationTable`); the memory layer is for tests and for stores without tables (Delta).
 */
import { Context, Effect, Layer, Ref } from "effect"
import type { StoreError } from "../log/EventLog.js"

export type Kind = "sensor" | "schedule"

export interface Row {
  readonly name: string
  readonly kind: Kind
  readonly paused: boolean
  /** ms: when it was first run, or last resumed. */
  readonly since: number
  /** ms: when a daemon last ran it (a sensor's pass, a schedule's tick). */
  readonly lastRunAt?: number | undefined
  /** What the last run said went wrong, when it did. */
  readonly lastError?: string | undefined
}

export interface AutomationStateShape {
  /** Whether the state outlives this process (a table in the store) or not (memory). */
  readonly durable: boolean
  /** The row of `name`, made (unpaused, since `now`) when there is none. */
  readonly open: (name: string, kind: Kind, now: number) => Effect.Effect<Row, StoreError>
  /** The rows of `names` there are; a read, it makes none. */
  readonly rows: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, Row>, StoreError>
  /** Pauses or resumes `name`; resuming restarts `since` at `now`, so ticks missed while paused are not caught up. */
  readonly setPaused: (name: string, kind: Kind, paused: boolean, now: number) => Effect.Effect<Row, StoreError>
  /** Records a run at `at`, and its error (or that it had none). */
  readonly ran: (name: string, at: number, error?: string) => Effect.Effect<void, StoreError>
}

export class AutomationState extends Context.Tag("@tessera/core/AutomationState")<
  AutomationState,
  AutomationStateShape
>() {}

/** In this process only: tests, and stores that keep no tables. */
export const makeMemory: Effect.Effect<AutomationStateShape> = Effect.map(
  Ref.make(new Map<string, Row>()),
  (table): AutomationStateShape => {
    const upsert = (name: string, make: () => Row, change: (row: Row) => Row) =>
      Ref.modify(table, (map) => {
        const current = map.get(name)
        const row = current === undefined ? make() : change(current)
        return [row, new Map(map).set(name, row)]
      })
    return {
      durable: false,
      open: (name, kind, now) =>
        upsert(
          name,
          () => ({ name, kind, paused: false, since: now }),
          (row) => row
        ),
      rows: (names) =>
        Effect.map(
          Ref.get(table),
          (map) => new Map(names.flatMap((name) => (map.has(name) ? [[name, map.get(name)!] as const] : [])))
        ),
      setPaused: (name, kind, paused, now) =>
        upsert(
          name,
          () => ({ name, kind, paused, since: now }),
          (row) => (row.paused === paused ? row : { ...row, paused, since: paused ? row.since : now })
        ),
      ran: (name, at, error) =>
        Effect.asVoid(
          upsert(
            name,
            () => ({ name, kind: "sensor", paused: false, since: at, lastRunAt: at, lastError: error }),
            (row) => ({ ...row, lastRunAt: Math.max(row.lastRunAt ?? 0, at), lastError: error })
          )
        )
    }
  }
)

export const memory: Layer.Layer<AutomationState> = Layer.effect(AutomationState, makeMemory)
