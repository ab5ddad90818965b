/**
 * `tessera register --glob 'data/*\/*.csv' --as 'votes/date={date}/color={color}'`: every file the
 * glob matches becomes a source whose ref is the template with the glob's wildcards, in order, as its
 * parameters. A wildcard stays within one path segment (`*` any run of characters, `?` one), so each
 * maps to exactly one value; `**` and braces are refused rather than guessed at.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pattern } from "@tessera/core"
import { Effect, Either, Schema } from "effect"

/** The glob and the template do not fit together, or the glob is not one this command reads. */
export class InvalidSourceGlob extends Schema.TaggedError<InvalidSourceGlob>()("InvalidSourceGlob", {
  glob: Schema.String,
  template: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `--glob ${JSON.stringify(this.glob)} --as ${JSON.stringify(this.template)}: ${this.reason}`
  }
}

export interface Match {
  readonly ref: string
  readonly path: string
}

const hasWildcard = (segment: string) => /[*?]/.test(segment)

const segmentRegExp = (segment: string) =>
  new RegExp(
    `^${segment
      .split("")
      .map((c) => (c === "*" ? "([^/]*)" : c === "?" ? "([^/])" : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`
  )

/** Files under `cwd` matching `glob`, in path order, each with the values of its wildcards. */
const walk = (cwd: string, segments: ReadonlyArray<string>) => {
  let found: Array<{ readonly path: string; readonly values: ReadonlyArray<string> }> = [{ path: "", values: [] }]
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1
    const next: typeof found = []
    for (const at of found) {
      const dir = path.join(cwd, at.path)
      if (!hasWildcard(segment)) {
        const candidate = path.join(at.path, segment)
        const stat = fs.statSync(path.join(cwd, candidate), { throwIfNoEntry: false })
        if (stat !== undefined && (last ? stat.isFile() : stat.isDirectory()))
          next.push({ path: candidate, values: at.values })
        continue
      }
      if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue
      const regex = segmentRegExp(segment)
      for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        if (last ? !entry.isFile() : !entry.isDirectory()) continue
        const match = regex.exec(entry.name)
        if (match !== null)
          next.push({ path: path.join(at.path, entry.name), values: [...at.values, ...match.slice(1)] })
      }
    }
    found = next
  })
  return found
}

/** The folder (relative) a watcher of `glob` watches: its segments before the first wildcard. */
export const baseOf = (glob: string): string => {
  const segments = glob.split("/").filter((segment) => segment !== "" && segment !== ".")
  const fixed = segments.slice(0, Math.max(0, segments.findIndex(hasWildcard)))
  return fixed.length === 0 && !segments.some(hasWildcard) ? path.dirname(segments.join("/")) : fixed.join("/") || "."
}

/** The sources `glob` finds under `cwd`, named by `template`; none is an empty list (a sensor's empty folder). */
export const matches = (glob: string, template: string, cwd: string) =>
  Effect.gen(function* () {
    const fail = (reason: string) => new InvalidSourceGlob({ glob, template, reason })
    if (glob.includes("**") || /[{}[\]]/.test(glob)) {
      return yield* fail("only * and ? are read, each within one path segment (no **, braces or classes)")
    }
    if (path.isAbsolute(glob)) return yield* fail("the glob is relative to the working directory")
    const target = yield* Effect.try({
      try: () => pattern(template),
      catch: (error) => fail(error instanceof Error ? error.message : String(error))
    })
    const wildcards = (glob.match(/[*?]/g) ?? []).length
    if (wildcards !== target.params.length) {
      return yield* fail(
        `the glob has ${wildcards} wildcard(s) and the template ${target.params.length} parameter(s) ` +
          `(${target.params.map((p) => `{${p}}`).join(", ") || "none"}); each wildcard gives the next parameter its value`
      )
    }
    const out: Array<Match> = []
    for (const found of walk(
      cwd,
      glob.split("/").filter((segment) => segment !== "" && segment !== ".")
    )) {
      const params = Object.fromEntries(target.params.map((name, i) => [name, found.values[i]!]))
      const ref = target.format(params)
      if (Either.isLeft(ref)) return yield* fail(`${found.path}: ${ref.left.message}`)
      out.push({ ref: ref.right, path: found.path })
    }
    return out
  })

/** The sources `glob` finds under `cwd`, named by `template`; finding none is an error (`tessera register`). */
export const expand = (glob: string, template: string, cwd: string) =>
  Effect.flatMap(matches(glob, template, cwd), (found) =>
    found.length === 0
      ? new InvalidSourceGlob({ glob, template, reason: `no file under ${cwd} matches` })
      : Effect.succeed(found)
  )
