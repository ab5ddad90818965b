/**
 * `npm run bench -- <name> [args...]` runs `bench/<name>.ts`, whose default export is a `Benchmark`.
 * Without a name it lists the benchmarks.
 */
import { readdirSync } from "node:fs"
import { Effect } from "effect"
import type { Benchmark } from "./src/report.js"

const [name, ...args] = process.argv.slice(2)
const available = readdirSync(new URL(".", import.meta.url))
  .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.endsWith(".config.ts"))
  .map((file) => file.slice(0, -3))

if (name === undefined || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name> [args]\nbenchmarks: ${available.join(", ")}\n`)
  process.exit(name === undefined ? 0 : 2)
}

const module: { default: Benchmark } = await import(`./${name}.ts`)
await Effect.runPromise(module.default(args))
