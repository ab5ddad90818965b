/**
 * The README's "Write a pipeline" section works exactly as written: its graph.ts and its commands,
 * run with a shell in a fresh folder of the repository.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Invariants from "../src/invariants.js"
import { events } from "./cli-process.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

const section = () => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const start = readme.indexOf("## Write a pipeline")
  const body = readme.slice(start, readme.indexOf("\n## ", start + 1))
  const graph = /```ts\n([\s\S]*?)```/.exec(body)?.[1]
  const shell = /```sh\n([\s\S]*?)```/.exec(body)?.[1]
  if (graph === undefined || shell === undefined) throw new Error("README: Write a pipeline lost its code blocks")
  return { graph, shell }
}

describe("README: Write a pipeline", () => {
  it.scopedLive(
    "the graph and the commands work as written",
    () =>
      Effect.gen(function* () {
        const { graph, shell } = section()
        // Inside the repository, so the graph's imports resolve, and under .tmp/, which git ignores.
        const base = yield* Effect.acquireRelease(
          Effect.sync(() => {
            fs.mkdirSync(path.join(root, ".tmp"), { recursive: true })
            return fs.mkdtempSync(path.join(root, ".tmp", "readme-"))
          }),
          (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
        )
        const lines = shell.split("\n").filter((line) => line.trim() !== "")
        // The first command builds the repository, which the test setup has done; the second makes the folder.
        expect(lines[0]).toMatch(/^npm run build/)
        expect(lines[1]).toMatch(/^mkdir -p my-pipeline\/data && cd my-pipeline/)
        const folder = path.join(base, "my-pipeline")
        fs.mkdirSync(path.join(folder, "data"), { recursive: true })
        fs.writeFileSync(path.join(folder, "graph.ts"), graph)
        const output = execFileSync("bash", ["-e", "-c", lines.slice(2).join("\n")], {
          cwd: folder,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"]
        })
        expect(output).toContain("Registered text/date=2026-11-01 as AVAILABLE")
        expect(output).toContain("4 words")
        expect(output).toContain("Nothing to build")
        expect(output).toMatch(/report\/date=2026-11-01\s+AVAILABLE/)
        const log = yield* events(path.join(folder, ".tessera"))
        expect(Invariants.overlappingClaims(log)).toEqual([])
      }),
    120_000
  )
})
