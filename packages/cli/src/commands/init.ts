import * as path from "node:path"
import { Args, Command } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import * as Scaffold from "../scaffold/Scaffold.js"
import * as Positional from "./Positional.js"
import { json } from "./Root.js"

const nextSteps = (scaffolded: Scaffold.Scaffolded, cwd: string) => {
  const relative = path.relative(cwd, scaffolded.dir)
  const shown = relative.startsWith("..") ? scaffolded.dir : relative
  return [
    `Created ${scaffolded.name} in ${scaffolded.dir}: ${scaffolded.files.join(", ")}.`,
    "",
    "Next:",
    ...(shown === "" ? [] : [`  cd ${shown}`]),
    "  npm install",
    "  npx tessera build summary/date=2026-01-01"
  ].join("\n")
}

export const init = Command.make(
  "init",
  {
    dir: Positional.text("dir").pipe(
      Args.withDescription("The folder of the new project (created if absent); default: the working directory"),
      Args.optional
    ),
    json
  },
  (options) =>
    Effect.gen(function* () {
      const cwd = yield* Effect.sync(() => process.cwd())
      const dir = path.resolve(
        cwd,
        Option.getOrElse(options.dir, () => ".")
      )
      const scaffolded = yield* Scaffold.write(dir)
      yield* Console.log(options.json ? JSON.stringify(scaffolded, null, 2) : nextSteps(scaffolded, cwd))
    })
).pipe(
  Command.withDescription(
    "Create a pipeline project: package.json, tessera.config.ts, a two-job graph.ts, tsconfig, README, .gitignore"
  )
)
