import { Args, Command } from "@effect/cli"
import { Builds } from "@tessera/core"
import { Console, Effect } from "effect"
import * as Positional from "./Positional.js"
import { shared, withBuilds } from "./Root.js"

export const cancel = Command.make(
  "cancel",
  {
    build: Positional.text("build").pipe(Args.withDescription("The id of the build to cancel")),
    ...shared
  },
  (options) =>
    withBuilds("cancel", options, { needsGraph: false }, () =>
      Effect.gen(function* () {
        const builds = yield* Builds.Builds
        yield* builds.cancel(options.build)
        yield* Console.log(
          options.json
            ? JSON.stringify({ buildRequestId: options.build, status: "CANCELLED" }, null, 2)
            : `Build ${options.build} CANCELLED: the process running it stops its job runs and releases their partitions.`
        )
      })
    )
).pipe(Command.withDescription("Cancel a build, wherever it runs: its job runs stop and release their partitions"))
