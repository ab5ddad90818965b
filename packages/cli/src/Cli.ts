/**
 * The `tessera` command tree, and `run`, which runs it on a command line and returns the exit code.
 */
import { Command } from "@effect/cli"
import { Effect } from "effect"
import { build } from "./commands/build.js"
import { cancel } from "./commands/cancel.js"
import { sensors, schedules } from "./commands/automations.js"
import { compact } from "./commands/compact.js"
import { daemon } from "./commands/daemon.js"
import { events } from "./commands/events.js"
import { graph } from "./commands/graph.js"
import { init } from "./commands/init.js"
import { invalidate } from "./commands/invalidate.js"
import { register } from "./commands/register.js"
import { resume } from "./commands/resume.js"
import { serve } from "./commands/serve.js"
import { tessera } from "./commands/Root.js"
import { status } from "./commands/status.js"
import { vacuum } from "./commands/vacuum.js"
import { worker } from "./commands/worker.js"
import * as ExitCode from "./ExitCode.js"
import * as Output from "./render/Output.js"
import { VERSION } from "./Version.js"

export { VERSION }

export const command = tessera.pipe(
  Command.withSubcommands([
    build,
    status,
    events,
    graph,
    invalidate,
    cancel,
    resume,
    register,
    worker,
    serve,
    daemon,
    sensors,
    schedules,
    compact,
    vacuum,
    init
  ])
)

const cli = Command.run(command, { name: "tessera", version: VERSION })

/** Runs the command line `argv` (as `process.argv`: the runtime and script first) to its exit code. */
export const run = (argv: ReadonlyArray<string>) =>
  ExitCode.report(
    Effect.suspend(() => cli(argv)),
    { json: argv.includes("--json") }
  ).pipe(Output.fitted, Effect.withSpan("tessera.run"))
