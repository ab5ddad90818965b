import { Args, Command, Options } from "@effect/cli"
import { Builds } from "@tessera/core"
import { Console, Effect, Option } from "effect"
import * as Positional from "./Positional.js"
import { shared, withBuilds } from "./Root.js"

export const invalidate = Command.make(
  "invalidate",
  {
    ref: Positional.ref().pipe(Args.withDescription("The partition to mark STALE")),
    reason: Options.text("reason").pipe(Options.withDescription("Why, recorded in the log"), Options.optional),
    ...shared
  },
  (options) =>
    withBuilds("invalidate", options, { needsGraph: false }, () =>
      Effect.gen(function* () {
        const builds = yield* Builds.Builds
        const stale = yield* builds.invalidate(options.ref, Option.getOrUndefined(options.reason))
        if (options.json) return yield* Console.log(JSON.stringify({ invalidated: stale }, null, 2))
        yield* Console.log(
          stale.length === 0
            ? `${options.ref} is not AVAILABLE: nothing to invalidate.`
            : [
                `Marked ${stale.length} partition(s) STALE; the next build that needs them rebuilds them:`,
                ...stale.map((ref) => `  ${ref}`)
              ].join("\n")
        )
      })
    )
).pipe(Command.withDescription("Mark a partition and everything built from it STALE, so the next build rebuilds them"))
