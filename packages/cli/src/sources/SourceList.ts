/**
 * `tessera register --from FILE`: sources as JSON lines, `{"ref": "...", "path": "...", "checksum": "..."}`
 * (checksum optional), from a file or from stdin (`-`). Every line is checked before anything is
 * registered, so a bad line loses nothing.
 */
import * as fs from "node:fs"
import { Effect, Either, ParseResult, Schema } from "effect"

const Line = Schema.Struct({
  ref: Schema.String,
  path: Schema.String,
  checksum: Schema.optional(Schema.String)
})

export type Line = typeof Line.Type

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(Line))

/** A line of a `--from` list that is not `{ref, path, checksum?}` JSON. */
export class InvalidSourceLine extends Schema.TaggedError<InvalidSourceLine>()("InvalidSourceLine", {
  from: Schema.String,
  line: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `${this.from}, line ${this.line}: ${this.reason}. Each line is one JSON object ` +
      '{"ref": "raw/date=2026-11-01", "path": "data/2026-11-01.csv", "checksum": "optional"}; nothing was registered'
    )
  }
}

/** The `--from` list could not be read. */
export class SourceListUnreadable extends Schema.TaggedError<SourceListUnreadable>()("SourceListUnreadable", {
  from: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot read the source list ${this.from}: ${this.reason}`
  }
}

const readAll = (from: string) =>
  Effect.tryPromise({
    try: async () => {
      if (from !== "-") return await fs.promises.readFile(from, "utf8")
      let text = ""
      for await (const chunk of process.stdin) text += (chunk as Buffer).toString("utf8")
      return text
    },
    catch: (error) =>
      new SourceListUnreadable({
        from: from === "-" ? "stdin" : from,
        reason: error instanceof Error ? error.message : String(error)
      })
  })

/** The lines of the list `from` (a path, or `-` for stdin); blank lines are skipped. */
export const read = (from: string) =>
  Effect.gen(function* () {
    const text = yield* readAll(from)
    const lines: Array<Line> = []
    for (const [i, raw] of text.split("\n").entries()) {
      if (raw.trim() === "") continue
      const decoded = decodeLine(raw)
      if (Either.isLeft(decoded)) {
        return yield* new InvalidSourceLine({
          from: from === "-" ? "stdin" : from,
          line: i + 1,
          reason: ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
            .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`))
            .join("; ")
        })
      }
      lines.push(decoded.right)
    }
    return lines
  })
