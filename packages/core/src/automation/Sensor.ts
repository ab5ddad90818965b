/**
 * Sensors: declared in the graph module, they notice new input and turn it into source partitions
 * and build requests. `files` watches a folder; `make` runs an effect on an interval for any other
 * source (a bucket listing, a table's high-water mark). The daemon (`tessera daemon`, or
 * `tessera serve`) runs them; the log and the catalog are their only cursor.
 */
import type { Effect } from "effect"
import type { Source } from "../source/Sources.js"
import * as Name from "./Name.js"

export interface FileSensor {
  readonly _tag: "FileSensor"
  readonly name: string
  /** Files to watch, relative to the daemon's working directory: `*` and `?` within one path segment. */
  readonly glob: string
  /** The ref template each match becomes, its parameters given by the glob's wildcards in order. */
  readonly as: string
  /** The refs to build once a file is registered (default: none, only register). */
  readonly build?: ((refs: ReadonlyArray<string>) => ReadonlyArray<string>) | undefined
  /** How often the folder is scanned whatever the watcher says, in ms (default 30 000). */
  readonly pollMs: number
  /** Watch by polling the file system instead of OS events (network shares, some containers). */
  readonly usePolling: boolean
}

/** What a custom sensor found: sources to register, refs to build. */
export interface Found {
  readonly register?: ReadonlyArray<Source> | undefined
  readonly build?: ReadonlyArray<string> | undefined
}

export interface CustomSensor {
  readonly _tag: "CustomSensor"
  readonly name: string
  /** How often `run` runs, in ms. */
  readonly intervalMs: number
  /**
   * Looks for new input. Refs it returns to build are requested under an id derived from the sensor
   * and the refs, so returning the same refs again (after a restart, or from a second daemon) is
   * the same build; a failure is logged and the sensor runs again at the next interval.
   */
  readonly run: Effect.Effect<Found, unknown>
}

export type Sensor = FileSensor | CustomSensor

export const DEFAULT_POLL_MS = 30_000

/** A sensor that registers the files matching `glob` as `as` and requests the builds `build` names. */
export const files = (options: {
  readonly name: string
  readonly glob: string
  readonly as: string
  readonly build?: (refs: ReadonlyArray<string>) => ReadonlyArray<string>
  readonly pollMs?: number
  readonly usePolling?: boolean
}): FileSensor => ({
  _tag: "FileSensor",
  name: Name.check(options.name),
  glob: options.glob,
  as: options.as,
  build: options.build,
  pollMs: positive(options.name, "pollMs", options.pollMs ?? DEFAULT_POLL_MS),
  usePolling: options.usePolling ?? false
})

/** A sensor that runs `run` every `interval` ms. */
export const make = (options: {
  readonly name: string
  readonly interval: number
  readonly run: Effect.Effect<Found, unknown>
}): CustomSensor => ({
  _tag: "CustomSensor",
  name: Name.check(options.name),
  intervalMs: positive(options.name, "interval", options.interval),
  run: options.run
})

const positive = (name: string, field: string, value: number): number => {
  if (!Number.isInteger(value) || value <= 0) {
    throw new Name.InvalidAutomation({ name, reason: `${field} is ${value}: give a whole number of ms above 0` })
  }
  return value
}
