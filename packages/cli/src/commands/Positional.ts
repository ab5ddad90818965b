/**
 * Positional arguments that are never a mistyped flag. @effect/cli takes an unknown `--bogus` as a
 * positional value, so `build gen/x=1 --bogus` would request the partition "--bogus" and `status
 * --bogus` list refs starting with it; a value starting with "-" is refused before anything runs,
 * naming the flag. Partition refs are checked against the ref rules at the same moment.
 */
import { Args, HelpDoc } from "@effect/cli"
import { PartitionRef } from "@tessera/core"
import { Effect, Either } from "effect"

const notAFlag = (value: string) =>
  value.startsWith("-")
    ? Effect.fail(HelpDoc.p(`unknown flag ${value}: \`tessera <command> --help\` lists the flags each command takes`))
    : Effect.succeed(value)

/** A positional text argument. */
export const text = (name: string) => Args.text({ name }).pipe(Args.mapEffect(notAFlag))

/** A partition ref given on the command line, refused with the broken rule; for `Options.mapEffect` too. */
export const refValue = (value: string) =>
  Either.match(PartitionRef.make(value), {
    onLeft: (invalid) => Effect.fail(HelpDoc.p(invalid.message)),
    onRight: (valid) => Effect.succeed<string>(valid)
  })

/** A positional partition ref. */
export const ref = (name = "ref") => text(name).pipe(Args.mapEffect(refValue))
