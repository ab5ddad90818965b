#!/usr/bin/env node
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Exit } from "effect"
import { run } from "./Cli.js"

run(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      const code = Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : 1
      process.exitCode = code
      // Exit once stdout has drained, even if a library left a handle (a pool, a watcher) open.
      setTimeout(() => process.exit(code), 1000).unref()
      onExit(code)
    }
  })
)
