/**
 * Writes a new pipeline project (`tessera init`): every file is created or none is, and a file that
 * is already there is never overwritten.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Schema } from "effect"
import * as Templates from "./Templates.js"

export * as Templates from "./Templates.js"

/** `tessera init` was pointed at a folder that already holds one of the files it writes. */
export class ScaffoldWouldOverwrite extends Schema.TaggedError<ScaffoldWouldOverwrite>()("ScaffoldWouldOverwrite", {
  dir: Schema.String,
  files: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return (
      `${this.dir} already has ${this.files.join(", ")}: \`tessera init\` never overwrites a file. ` +
      "Name a new folder (`tessera init my-pipeline`) or move those files away"
    )
  }
}

/** The folder could not be written (permissions, a file where the folder should be, a full disk). */
export class ScaffoldFailed extends Schema.TaggedError<ScaffoldFailed>()("ScaffoldFailed", {
  dir: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot write the project in ${this.dir}: ${this.reason}`
  }
}

export interface Scaffolded {
  readonly dir: string
  readonly name: string
  readonly files: ReadonlyArray<string>
}

/** Writes the project into `dir` (created if absent), its package named after the folder. */
export const write = Effect.fn("Scaffold.write")(function* (dir: string) {
  const name = Templates.packageName(path.basename(dir))
  const files = Templates.files(name)
  const present = files.map(([file]) => file).filter((file) => fs.existsSync(path.join(dir, file)))
  if (present.length > 0) return yield* new ScaffoldWouldOverwrite({ dir, files: present })
  yield* Effect.try({
    try: () => {
      fs.mkdirSync(dir, { recursive: true })
      // `wx` fails on a file that appeared since the check above rather than replacing it.
      for (const [file, content] of files) fs.writeFileSync(path.join(dir, file), content, { flag: "wx" })
    },
    catch: (error) => new ScaffoldFailed({ dir, reason: error instanceof Error ? error.message : String(error) })
  })
  return { dir, name, files: files.map(([file]) => file) } satisfies Scaffolded
})
