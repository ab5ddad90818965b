/**
 * Graph modules as users leave them lying around, loaded by the real `tessera` process: a `.ts` graph
 * is an ES module whatever the nearest package.json says (or when there is none), and one that does
 * not compile is exit 2 naming the file, line and column with the compiler's message.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { runCli, tempDir } from "./cli-process.js"

const nodeModules = fileURLToPath(new URL("../../node_modules", import.meta.url))

/** A graph that imports a sibling `.ts` module and whose one job runs on the command's own libraries. */
const graph = `import { Graph, Job, pattern } from "@tessera/core"
import { Effect } from "effect"
import { answer } from "./answer.ts"

export default Graph.make([
  Job.make({
    name: "answer",
    outputs: [pattern("answer/n={n}")],
    run: (ctx) => Effect.succeed({ answer, outputs: [...ctx.outputs] })
  })
])
`

/**
 * A folder in the system temp directory, outside this repository and its `"type": "module"`, that
 * resolves packages from the repository's node_modules as an installed project would.
 */
const project = Effect.map(tempDir, (dir) => {
  fs.symlinkSync(nodeModules, path.join(dir, "node_modules"), "dir")
  return dir
})

const write = (folder: string, files: Record<string, string>) => {
  fs.mkdirSync(folder, { recursive: true })
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(folder, name), text)
}

describe("tessera graph modules", () => {
  it.scopedLive("a .ts graph is an ES module in a folder with no package.json, or one without a type", () =>
    Effect.gen(function* () {
      const dir = yield* project
      const files = { "graph.ts": graph, "answer.ts": "export const answer: number = 42\n" }
      write(dir, files)
      write(path.join(dir, "untyped"), { ...files, "package.json": '{ "name": "pipeline", "private": true }\n' })
      for (const [folder, n] of [
        [dir, 1],
        [path.join(dir, "untyped"), 2]
      ] as const) {
        const store = `sqlite:${path.join(dir, "events.db")}`
        const exit = yield* runCli(
          ["--graph", path.join(folder, "graph.ts"), "--store", store, "build", `answer/n=${n}`, "--json"],
          { cwd: folder }
        )
        expect(exit.code, `${folder}: ${exit.stdout}${exit.stderr}`).toBe(0)
        expect(JSON.parse(exit.stdout)).toMatchObject({ status: "COMPLETED", built: 1 })
        const status = yield* runCli(["--store", store, "status", `answer/n=${n}`, "--json"], { cwd: folder })
        expect(JSON.parse(status.stdout)).toMatchObject({
          partitions: [{ status: "AVAILABLE", manifest: { answer: 42 } }]
        })
      }
    })
  )

  it.scopedLive("a .ts graph that does not compile is exit 2 naming the file, line, column and error", () =>
    Effect.gen(function* () {
      const dir = yield* project
      write(dir, {
        "graph.ts": 'import { Graph } from "@tessera/core"\nconst n: number = = 1\nexport default Graph.make([])\n'
      })
      const file = path.join(dir, "graph.ts")
      const exit = yield* runCli(["--graph", file, "graph"], { cwd: dir })
      expect(exit.code, exit.stderr).toBe(2)
      expect(exit.stderr.trim()).toBe(
        `error: cannot load the graph module ${file}: it does not compile: ${file}:2:19: Unexpected "="`
      )
    })
  )
})
