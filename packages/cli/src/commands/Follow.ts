/**
 * Following a build this process started or resumed: progress while it runs, then its result, and
 * the error that sets the exit code when it did not complete.
 */
import { Terminal } from "@effect/platform"
import { Builds } from "@tessera/core"
import { Clock, Console, Effect } from "effect"
import { AnalysisFailed, BuildNotCompleted, type CommandError } from "../Errors.js"
import * as Format from "../render/Format.js"
import * as Progress from "../render/Progress.js"

export const follow = (
  handle: Builds.BuildHandle,
  options: { readonly json: boolean }
): Effect.Effect<Builds.BuildResult, CommandError, Builds.Builds | Terminal.Terminal> =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    const terminal = yield* Terminal.Terminal
    const tty = !options.json && (yield* terminal.isTTY)
    const progress = options.json
      ? Effect.void
      : tty
        ? Progress.live(handle.id, handle.events)
        : Progress.lines(handle.id, handle.events)
    const started = yield* Clock.currentTimeMillis
    const [, result] = yield* Effect.all([progress, handle.await], { concurrency: "unbounded" }).pipe(
      // Ctrl-C cancels the build, so its partitions are released now rather than when its leases run out.
      Effect.onInterrupt(() => Effect.ignore(builds.cancel(handle.id)))
    )
    if (options.json) yield* Console.log(JSON.stringify(result, null, 2))
    else if (result.status === "COMPLETED") {
      const took = Format.duration((yield* Clock.currentTimeMillis) - started)
      yield* Console.log(
        result.built === 0
          ? `Nothing to build: ${result.partitions.length} requested partition(s) AVAILABLE and up to date ` +
              `(build ${result.buildRequestId}, ${took}).`
          : `Built ${result.partitions.length} requested partition(s) with ${result.built} job run(s)` +
              `${result.delegated > 0 ? `, ${result.delegated} partition(s) reused or delegated` : ""} ` +
              `(build ${result.buildRequestId} COMPLETED in ${took}).`
      )
    }
    if (result.status === "COMPLETED") return result
    const reason = result.message ?? "no message"
    if (result.failure === "analysis") {
      return yield* new AnalysisFailed({ buildRequestId: result.buildRequestId, reason })
    }
    return yield* new BuildNotCompleted({ buildRequestId: result.buildRequestId, status: result.status, reason })
  })
