/**
 * `tessera --help` and every subcommand's, as a real process whose output is piped: plain text unless
 * FORCE_COLOR asks for colour, and every argument and flag described in words of its own; and `--version`.
 */
import * as fs from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { runCli } from "./cli-process.js"

const cliPackage = new URL("../../packages/cli/package.json", import.meta.url)

/** A pipe, with neither colour variable set: what a script or a pager sees. */
const piped = { FORCE_COLOR: undefined, NO_COLOR: undefined }

/** What @effect/cli says of any flag of a kind, rather than of this flag. */
const stock = [
  /^A true or false value\.$/,
  /^An integer\.$/,
  /^One of the following: /,
  /^This setting is optional\.$/,
  /^This argument must be repeated at least \d+ times?\.$/
]

/** The ARGUMENTS and OPTIONS entries of a help text, each with its paragraphs. */
const entries = (help: string) => {
  const found: Array<{ readonly name: string; readonly paragraphs: Array<string> }> = []
  let section = ""
  for (const line of help.split("\n")) {
    if (line.trim() === "") continue
    if (/^[A-Z]+$/.test(line)) section = line
    else if (section === "ARGUMENTS" || section === "OPTIONS") {
      if (!line.startsWith(" ")) found.push({ name: line, paragraphs: [] })
      else found.at(-1)?.paragraphs.push(line.trim())
    }
  }
  return found
}

describe("tessera --help", () => {
  it.scopedLive("every command's help is plain text when piped, and describes each argument and flag", () =>
    Effect.gen(function* () {
      const root = yield* runCli(["--help"], { env: piped })
      expect(root.code, root.stderr).toBe(0)
      const commands = [...root.stdout.matchAll(/^ {2}- (\S+)/gm)].map((match) => match[1]!)
      expect(commands).toEqual(expect.arrayContaining(["build", "status", "events", "worker"]))
      for (const args of [[], ...commands.map((command) => [command])]) {
        const exit = yield* runCli([...args, "--help"], { env: piped })
        const what = `tessera ${args.join(" ")} --help`
        expect(exit.code, `${what}: ${exit.stderr}`).toBe(0)
        expect(exit.stdout, what).not.toContain("\u001b[")
        expect(exit.stdout, what).not.toContain("A user-defined piece of text")
        const described = entries(exit.stdout)
        expect(described.length, what).toBeGreaterThan(0)
        for (const entry of described) {
          const own = entry.paragraphs.filter((paragraph) => !stock.some((line) => line.test(paragraph)))
          expect(own, `${what}: ${entry.name}`).not.toEqual([])
        }
      }
    })
  )

  it.scopedLive("--version, answered before the command tree loads, is the package's version", () =>
    Effect.gen(function* () {
      const { version } = JSON.parse(fs.readFileSync(cliPackage, "utf8")) as { readonly version: string }
      const exit = yield* runCli(["--version"], { env: piped })
      expect(exit.code, exit.stderr).toBe(0)
      expect(exit.stdout).toBe(`${version}\n`)
    })
  )

  it.scopedLive("FORCE_COLOR=1 colours piped help and FORCE_COLOR=0 does not; command line errors are plain", () =>
    Effect.gen(function* () {
      const forced = yield* runCli(["build", "--help"], { env: { ...piped, FORCE_COLOR: "1" } })
      expect(forced.stdout).toContain("\u001b[")
      const off = yield* runCli(["build", "--help"], { env: { ...piped, FORCE_COLOR: "0" } })
      expect(off.stdout).not.toContain("\u001b[")
      const refused = yield* runCli(["build"], { env: piped })
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain("Missing argument <ref>")
      expect(refused.stderr).not.toContain("\u001b[")
    })
  )
})
