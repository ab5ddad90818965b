/**
 * Vitest global setup: the end-to-end tests run the real `tessera` command (`packages/cli/dist/bin.js`)
 * in child processes, so the packages are compiled once before any test starts. `tsc -b` is
 * incremental: when nothing changed it only checks timestamps.
 */
import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

export default function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url))
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  try {
    execFileSync(process.execPath, [tsc, "-b", "packages/cli"], { cwd: root, stdio: "pipe" })
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error)
    throw new Error(`building the tessera command for the end-to-end tests failed:\n${output}`)
  }
}
