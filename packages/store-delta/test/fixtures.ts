import { existsSync, readFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))

/** The shared Delta fixtures live outside the repo: `$TESSERA_DELTA_FIXTURES` or `../shared/fixtures/delta`. */
export const fixturesDir = process.env.TESSERA_DELTA_FIXTURES ?? Path.resolve(repoRoot, "../shared/fixtures/delta")

export const fixturesPresent = existsSync(Path.join(fixturesDir, "expected.json"))

// The fixture tests skip where the shared folder is absent (a clone without it beside): say so, and where it was looked for.
if (!fixturesPresent) {
  console.warn(
    `Delta fixture tests skipped: no expected.json in ${fixturesDir} (set TESSERA_DELTA_FIXTURES to the shared fixtures)`
  )
}

export interface ExpectedTable {
  readonly path: string
  readonly version?: number
  readonly files?: number
  readonly tombstones?: number
  readonly rows?: number | null
  readonly checkpoint?: number
  readonly txns?: Readonly<Record<string, number>>
  readonly error?: string
  readonly features?: string
}

export const expectedTables = (): ReadonlyArray<ExpectedTable> =>
  fixturesPresent
    ? (JSON.parse(readFileSync(Path.join(fixturesDir, "expected.json"), "utf8")) as { tables: Array<ExpectedTable> })
        .tables
    : []

export const fixture = (path: string) => Path.join(fixturesDir, path)
