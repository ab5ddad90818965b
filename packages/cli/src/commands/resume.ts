import { Args, Command } from "@effect/cli"
import { Builds } from "@tessera/core"
import { Effect, Option } from "effect"
import { executionOptions, loadFollow } from "./build.js"
import * as Positional from "./Positional.js"
import { shared, withBuilds } from "./Root.js"

export const resume = Command.make(
  "resume",
  {
    build: Positional.text("build").pipe(Args.withDescription("The id of the build to continue")),
    ...executionOptions,
    ...shared
  },
  (options) =>
    withBuilds("resume", options, { needsGraph: true }, () =>
      Effect.gen(function* () {
        const builds = yield* Builds.Builds
        const { follow } = yield* loadFollow
        const handle = yield* builds.resume(options.build, {
          concurrency: Option.getOrUndefined(options.concurrency),
          leaseMs: Option.getOrUndefined(options.lease)
        })
        yield* follow(handle, options)
      })
    )
).pipe(
  Command.withDescription(
    "Continue a build whose process died: take over its job runs once their leases expire; finished work is kept"
  )
)
