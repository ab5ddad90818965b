/**
 * How the process ends: 0 when the command did what was asked, 1 when a build failed or was cancelled
 * (or the store failed under it), 2 for bad input: flags, refs, unknown builds, graphs that cannot be
 * loaded or analysed. Errors are printed as their own message, never as a stack trace.
 */
import { ValidationError } from "@effect/cli"
import { Cause, Console, Effect, Option } from "effect"

export const OK = 0
export const FAILED = 1
export const BAD_INPUT = 2
/** Stopped by SIGINT or SIGTERM, as shells report it. */
export const INTERRUPTED = 130

/** Errors about the work itself rather than about what was asked. */
const failedTags = new Set([
  "BuildNotCompleted",
  "StoreError",
  "AppendConflict",
  "InvalidTransition",
  "EventDecodeError"
])

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

const messageOf = (error: unknown): string => {
  if (error instanceof Error) return error.message.split("\n")[0] || error.name
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message
  }
  return String(error)
}

/** Runs `program` and turns how it ended into an exit code, printing what went wrong on stderr. */
export const report = <E, R>(program: Effect.Effect<unknown, E, R>): Effect.Effect<number, never, R> =>
  program.pipe(
    Effect.as(OK),
    Effect.catchAllCause((cause) => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        const error = failure.value
        // @effect/cli has already printed what was wrong with the command line, and the usage.
        if (ValidationError.isValidationError(error)) return Effect.succeed(BAD_INPUT)
        const code = failedTags.has(tagOf(error) ?? "") ? FAILED : BAD_INPUT
        return Effect.as(Console.error(`error: ${messageOf(error)}`), code)
      }
      if (Cause.isInterruptedOnly(cause)) return Effect.succeed(INTERRUPTED)
      return Effect.as(Console.error(`error: unexpected failure: ${messageOf(Cause.squash(cause))}`), FAILED)
    })
  )
