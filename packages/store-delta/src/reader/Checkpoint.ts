import { Effect, Either } from "effect"
import * as Path from "node:path"
import { CorruptCheckpoint, type DeltaIOError } from "../Errors.js"
import { readText } from "../Fs.js"
import { type Action, decodeAction, parseActionLines } from "./Actions.js"
import { type CheckpointFiles, logDir } from "./Listing.js"
import { readParquetRows } from "./Parquet.js"

// The only columns a snapshot needs; a checkpoint's commitInfo/cdc columns are never read.
const checkpointColumns = ["add", "remove", "metaData", "protocol", "txn", "domainMetadata", "sidecar"]

/** Checkpoint parquet holds longs as bigint; actions are decoded as JSON numbers, which hold every real size/time. */
const normalize = (value: unknown): unknown => {
  if (typeof value === "bigint") return Number(value)
  if (Array.isArray(value)) return value.map(normalize)
  if (value instanceof Date || value instanceof Uint8Array) return value
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = normalize(inner)
    return out
  }
  return value
}

const rowsToActions = (
  tablePath: string,
  version: number,
  rows: ReadonlyArray<Record<string, unknown>>
): Effect.Effect<ReadonlyArray<Action>, CorruptCheckpoint> => {
  const actions: Array<Action> = []
  for (const row of rows) {
    const decoded = decodeAction(normalize(row))
    if (Either.isLeft(decoded)) {
      return Effect.fail(new CorruptCheckpoint({ path: tablePath, version, reason: decoded.left }))
    }
    if (decoded.right !== undefined) actions.push(decoded.right)
  }
  return Effect.succeed(actions)
}

const readParquetActions = (tablePath: string, version: number, file: string) =>
  readParquetRows(file, { columns: checkpointColumns }).pipe(
    Effect.flatMap((rows) => rowsToActions(tablePath, version, rows))
  )

/**
 * Reads every action of a checkpoint: the parts of a classic or multi-part checkpoint, or a V2
 * checkpoint (JSON or parquet) followed by the sidecar files it names.
 */
export const readCheckpoint = (
  tablePath: string,
  checkpoint: CheckpointFiles
): Effect.Effect<ReadonlyArray<Action>, CorruptCheckpoint | DeltaIOError> =>
  Effect.gen(function* () {
    const dir = logDir(tablePath)
    const { version } = checkpoint
    const parts = yield* Effect.forEach(
      checkpoint.files,
      (name) =>
        name.endsWith(".json")
          ? readText(Path.join(dir, name)).pipe(
              Effect.flatMap((text) =>
                Either.match(parseActionLines(text), {
                  onLeft: (reason) => Effect.fail(new CorruptCheckpoint({ path: tablePath, version, reason })),
                  onRight: Effect.succeed
                })
              )
            )
          : readParquetActions(tablePath, version, Path.join(dir, name)),
      { concurrency: 4 }
    )
    const actions = parts.flat()
    // Every checkpoint carries the table's protocol and metadata; a file without them is something
    // else under a checkpoint's name (a data file copied in), and the snapshot falls back to commits.
    const missing = (["protocol", "metaData"] as const).filter((tag) => !actions.some((a) => a._tag === tag))
    if (missing.length > 0) {
      return yield* new CorruptCheckpoint({
        path: tablePath,
        version,
        reason: `it holds no ${missing.join(" or ")} action, so it is not a checkpoint`
      })
    }
    if (checkpoint.kind !== "v2") return actions
    const sidecars = yield* Effect.forEach(
      actions.flatMap((action) => (action._tag === "sidecar" ? [action.sidecar.path] : [])),
      (path) => readParquetActions(tablePath, version, Path.join(dir, "_sidecars", decodeURIComponent(path))),
      { concurrency: 4 }
    )
    return [...actions.filter((action) => action._tag !== "sidecar"), ...sidecars.flat()]
  })
