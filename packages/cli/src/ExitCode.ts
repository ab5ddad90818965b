/**
 * How the process ends: 0 when the command did what was asked, 1 when a build failed or was cancelled
 * (or the store failed under it), 2 for bad input: flags, refs, unknown builds, graphs that cannot be
 * loaded or analysed, 130 when SIGINT or SIGTERM stopped it. Errors are printed as their own message,
 * never as a stack trace.
 */
import { HelpDoc, ValidationError } from "@effect/cli"
import { Cause, Console, Effect, Exit, Option } from "effect"
import { Interrupted } from "./Errors.js"
import * as Output from "./render/Output.js"

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
  "EventDecodeError",
  "DeltaIOError",
  "ConcurrentModification",
  "ArchiveError"
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

/**
 * Runs `program` and turns how it ended into an exit code, printing what went wrong: as text on
 * stderr, or with `json` as one JSON document on stdout, `{ "error": { "_tag", "message" } }`,
 * where a script reading the command's JSON finds it. The exit code is the same either way.
 */
export const report = <E, R>(
  program: Effect.Effect<unknown, E, R>,
  options: { readonly json?: boolean } = {}
): Effect.Effect<number, never, R> => {
  const say = (tag: string, message: string, code: number) =>
    Effect.as(
      options.json === true
        ? Console.log(JSON.stringify({ error: { _tag: tag, message } }))
        : Console.error(`error: ${message}`),
      code
    )
  const interrupted = new Interrupted()
  const sayInterrupted = say(interrupted._tag, interrupted.message, INTERRUPTED)
  return program.pipe(
    Effect.as(OK),
    Effect.catchAllCause((cause) => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        const error = failure.value
        if (ValidationError.isValidationError(error)) {
          // @effect/cli has already printed what was wrong with the command line, and the usage.
          if (options.json !== true) return Effect.succeed(BAD_INPUT)
          const message = Output.plain(HelpDoc.toAnsiText(error.error)).trim()
          return say(error._tag, message, BAD_INPUT)
        }
        const code = failedTags.has(tagOf(error) ?? "") ? FAILED : BAD_INPUT
        return say(tagOf(error) ?? "Error", messageOf(error), code)
      }
      if (Cause.isInterruptedOnly(cause)) return sayInterrupted
      return say("Defect", `unexpected failure: ${messageOf(Cause.squash(cause))}`, FAILED)
    }),
    // A signal interrupts the whole run, which no handler above can catch: it is said once its
    // finalizers (a build's cancellation among them) have run, and `of` gives the exit code.
    Effect.onInterrupt(() => sayInterrupted)
  )
}

/** The exit code of a process whose run of `report` ended as `exit`: its code, or 130 when a signal interrupted it. */
export const of = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return typeof exit.value === "number" ? exit.value : FAILED
  return Cause.isInterruptedOnly(exit.cause) ? INTERRUPTED : FAILED
}
