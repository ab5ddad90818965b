import { Effect, Option } from "effect"
import * as Path from "node:path"
import { type DeltaIOError, DeltaTableNotFound } from "../Errors.js"
import { readDirOptional, readTextOptional } from "../Fs.js"

export const logDir = (tablePath: string) => Path.join(tablePath, "_delta_log")

export const commitFileName = (version: number) => `${String(version).padStart(20, "0")}.json`

export const checkpointFileName = (version: number) => `${String(version).padStart(20, "0")}.checkpoint.parquet`

export interface CheckpointFiles {
  readonly version: number
  readonly kind: "classic" | "multi-part" | "v2"
  /** File names inside `_delta_log`, in part order. */
  readonly files: ReadonlyArray<string>
}

export interface LastCheckpointHint {
  readonly version: number
  readonly size: Option.Option<number>
  readonly parts: Option.Option<number>
}

export interface LogListing {
  readonly commits: ReadonlyMap<number, string>
  /** Complete checkpoints only, newest first. */
  readonly checkpoints: ReadonlyArray<CheckpointFiles>
  readonly hint: Option.Option<LastCheckpointHint>
}

const commitPattern = /^(\d{20})\.json$/
const classicPattern = /^(\d{20})\.checkpoint\.parquet$/
const multiPartPattern = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/
const v2Pattern = /^(\d{20})\.checkpoint\.[0-9a-fA-F-]{36}\.(json|parquet)$/

const numberField = (json: Record<string, unknown>, ...keys: ReadonlyArray<string>): Option.Option<number> => {
  for (const key of keys) {
    const value = json[key]
    if (typeof value === "number" && Number.isFinite(value)) return Option.some(value)
  }
  return Option.none()
}

/**
 * Parses `_last_checkpoint` leniently: it is a hint, so an empty, garbled or non-standard file
 * (delta-rs writes `size_in_bytes`) is reported as no hint instead of an error.
 */
export const parseLastCheckpoint = (text: string): Option.Option<LastCheckpointHint> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Option.none()
  }
  if (typeof json !== "object" || json === null) return Option.none()
  const record = json as Record<string, unknown>
  return Option.map(numberField(record, "version"), (version) => ({
    version,
    size: numberField(record, "size"),
    parts: numberField(record, "parts")
  }))
}

/** Groups a directory listing of `_delta_log` into commits and complete checkpoints. */
export const classifyLogFiles = (names: ReadonlyArray<string>): Omit<LogListing, "hint"> => {
  const commits = new Map<number, string>()
  const checkpoints: Array<CheckpointFiles> = []
  const parts = new Map<string, { version: number; total: number; files: Map<number, string> }>()
  for (const name of names) {
    let match = commitPattern.exec(name)
    if (match) {
      commits.set(Number(match[1]), name)
      continue
    }
    match = classicPattern.exec(name)
    if (match) {
      checkpoints.push({ version: Number(match[1]), kind: "classic", files: [name] })
      continue
    }
    match = multiPartPattern.exec(name)
    if (match) {
      const version = Number(match[1])
      const total = Number(match[3])
      const key = `${version}/${total}`
      const group = parts.get(key) ?? { version, total, files: new Map<number, string>() }
      group.files.set(Number(match[2]), name)
      parts.set(key, group)
      continue
    }
    match = v2Pattern.exec(name)
    if (match) checkpoints.push({ version: Number(match[1]), kind: "v2", files: [name] })
  }
  for (const group of parts.values()) {
    const files: Array<string> = []
    for (let part = 1; part <= group.total; part++) {
      const file = group.files.get(part)
      if (file === undefined) break
      files.push(file)
    }
    if (files.length === group.total) checkpoints.push({ version: group.version, kind: "multi-part", files })
  }
  // Newest first; at one version prefer V2 (it carries everything), then classic, then multi-part.
  const rank = { v2: 0, classic: 1, "multi-part": 2 } as const
  checkpoints.sort((a, b) => b.version - a.version || rank[a.kind] - rank[b.kind])
  return { commits, checkpoints }
}

/**
 * Lists `_delta_log`. The listing, not `_last_checkpoint`, decides which checkpoint is newest: the
 * hint can be stale (a writer died between the checkpoint and the hint) and a local listing is cheap.
 */
export const listLog = (tablePath: string): Effect.Effect<LogListing, DeltaTableNotFound | DeltaIOError> =>
  Effect.gen(function* () {
    const dir = logDir(tablePath)
    const names = yield* readDirOptional(dir)
    if (Option.isNone(names)) return yield* new DeltaTableNotFound({ path: tablePath })
    const listing = classifyLogFiles(names.value)
    if (listing.commits.size === 0 && listing.checkpoints.length === 0) {
      return yield* new DeltaTableNotFound({ path: tablePath })
    }
    const hintText = yield* readTextOptional(Path.join(dir, "_last_checkpoint"))
    return { ...listing, hint: Option.flatMap(hintText, parseLastCheckpoint) }
  })
