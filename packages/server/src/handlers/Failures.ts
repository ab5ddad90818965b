/**
 * Core's errors as the API's: each keeps its message, under the HTTP status that says what the
 * caller can do about it.
 */
import { Effect } from "effect"
import { Conflict, InvalidRequest, NotFound, StoreUnavailable } from "../api/Errors.js"

const invalid = new Set([
  "InvalidPartitionRef",
  "InvalidIdentifier",
  "CycleDetected",
  "AmbiguousJob",
  "InvalidJobConfig",
  "WorkersUnavailable",
  "NoGraph",
  "InvalidSelection",
  "TooManyPartitions"
])
const missing = new Set(["UnknownBuild", "UnknownPartition"])
const conflicting = new Set(["BuildFinished", "AppendConflict", "InvalidTransition"])

interface Tagged {
  readonly _tag: string
  readonly message: string
}

export type HttpFailure = InvalidRequest | NotFound | Conflict | StoreUnavailable

/** The API error for a core error; a store's failure (StoreError, EventDecodeError) is 503. */
export const toHttp = (error: Tagged): HttpFailure => {
  const message = error.message
  if (invalid.has(error._tag)) return new InvalidRequest({ message })
  if (missing.has(error._tag)) return new NotFound({ message })
  if (conflicting.has(error._tag)) return new Conflict({ message })
  return new StoreUnavailable({ message })
}

/** Runs `effect` with its core errors mapped to the API's. */
export const http = <A, E extends Tagged, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, HttpFailure, R> =>
  Effect.mapError(effect, toHttp)
