/**
 * Vitest global setup: the end-to-end tests run the real `tessera` command (`packages/cli/dist/bin.js`)
 * in child processes, so the packages are compiled once before any test starts. `tsc -b` is
 * incremental: when nothing changed it only checks timestamps.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
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
  // npm links the `tessera` bin at install time, before a fresh clone has compiled it, so it could not
  // mark the file executable then; `npx tessera` (the README's commands) needs it to be.
  fs.chmodSync(`${root}/packages/cli/dist/bin.js`, 0o755)
}
