/**
 * Runs this process's command line on Node and ends the process with the command's exit code.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { EventLoop } from "@tessera/core"
import { Effect, Layer } from "effect"
import { run } from "./Cli.js"
import * as ExitCode from "./ExitCode.js"
import * as Telemetry from "./telemetry/Telemetry.js"

// What @effect/cli needs, each module imported on its own: the `@effect/platform-node` index also loads
// its HTTP, socket and cluster modules (undici, ws, @effect/cluster), about 400 ms of startup.
const platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)

run(process.argv).pipe(
  Effect.provide(Layer.merge(platform, Telemetry.layer)),
  // Timers, signals (Ctrl-C) and the progress view keep their turns while a build runs.
  Effect.withScheduler(EventLoop.fair),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      const code = ExitCode.of(exit)
      process.exitCode = code
      // Exit once stdout has drained, even if a library left a handle (a pool, a watcher) open.
      setTimeout(() => process.exit(code), 1000).unref()
      onExit(code)
    }
  })
)
