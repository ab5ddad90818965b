import { Args, Command, Options } from "@effect/cli"
import { EventLog, Sources } from "@tessera/core"
import { Console, Effect, Option, Schema } from "effect"
import * as SourceFiles from "../sources/SourceFiles.js"
import * as SourceGlob from "../sources/SourceGlob.js"
import * as SourceList from "../sources/SourceList.js"
import * as Positional from "./Positional.js"
import { shared, withLog } from "./Root.js"

/** The flags name no sources, or two ways of naming them at once. */
export class RegisterNeedsSources extends Schema.TaggedError<RegisterNeedsSources>()("RegisterNeedsSources", {
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `${this.reason}. Give one of: <ref> --path <file> [--checksum c]; --from <file.jsonl | ->; ` +
      "--glob 'data/*/*.csv' --as 'raw/date={date}/color={color}'"
    )
  }
}

// Files are hashed a few at a time: enough to overlap reads, few enough not to exhaust file handles.
const HASHING = 8

const options = {
  ref: Positional.ref().pipe(
    Args.withDescription("The source partition, e.g. raw/date=2026-11-01 (with --path)"),
    Args.optional
  ),
  path: Options.text("path").pipe(
    Options.withDescription("Where its data is: a local file, or a URL (with a ref)"),
    Options.optional
  ),
  checksum: Options.text("checksum").pipe(
    Options.withDescription(
      "Identifies this version of the data; default: the SHA-256 of the local file. The same ref and checksum " +
        "again is a no-op, so the same file is never processed twice"
    ),
    Options.optional
  ),
  from: Options.text("from").pipe(
    Options.withDescription(
      'Many sources as JSON lines, {"ref": "...", "path": "...", "checksum": "..."} (checksum optional), ' +
        "from a file or - for stdin; paths are taken from the working directory"
    ),
    Options.optional
  ),
  glob: Options.text("glob").pipe(
    Options.withDescription(
      "Every file matching this glob (relative, * and ? within a path segment) is a source; needs --as"
    ),
    Options.optional
  ),
  as: Options.text("as").pipe(
    Options.withDescription(
      "The ref template for --glob, e.g. 'votes/date={date}/color={color}': the glob's wildcards, in order, " +
        "give the parameters their values"
    ),
    Options.optional
  ),
  ...shared
}

type Flags = Command.Command.ParseConfig<typeof options>

interface Requested {
  readonly ref: string
  readonly path: string
  readonly checksum?: string | undefined
}

/** The sources the flags name, as refs and the paths or checksums standing for their data. */
const requested = (flags: Flags, cwd: string) =>
  Effect.gen(function* () {
    const modes = [
      Option.isSome(flags.ref) || Option.isSome(flags.path),
      Option.isSome(flags.from),
      Option.isSome(flags.glob) || Option.isSome(flags.as)
    ].filter(Boolean).length
    if (modes === 0) return yield* new RegisterNeedsSources({ reason: "no source is named" })
    if (modes > 1) return yield* new RegisterNeedsSources({ reason: "sources are named in more than one way" })
    if (Option.isSome(flags.from)) {
      if (Option.isSome(flags.checksum)) {
        return yield* new RegisterNeedsSources({ reason: "--checksum goes in each line of a --from list" })
      }
      return yield* SourceList.read(flags.from.value)
    }
    if (Option.isSome(flags.glob) || Option.isSome(flags.as)) {
      if (Option.isNone(flags.glob) || Option.isNone(flags.as)) {
        return yield* new RegisterNeedsSources({ reason: "--glob and --as go together" })
      }
      if (Option.isSome(flags.checksum)) {
        return yield* new RegisterNeedsSources({ reason: "--checksum names one file's version, not a glob's" })
      }
      return yield* SourceGlob.expand(flags.glob.value, flags.as.value, cwd)
    }
    if (Option.isNone(flags.ref) || Option.isNone(flags.path)) {
      return yield* new RegisterNeedsSources({ reason: "a ref needs --path, and --path a ref" })
    }
    return [{ ref: flags.ref.value, path: flags.path.value, checksum: Option.getOrUndefined(flags.checksum) }]
  })

const summary = (result: Sources.Registered) =>
  `${result.outcomes.length} source partition(s): ${result.registered} registered, ${result.changed} changed, ` +
  `${result.unchanged} unchanged.`

export const register = Command.make("register", options, (flags) =>
  withLog(flags, () =>
    Effect.gen(function* () {
      const cwd = yield* Effect.sync(() => process.cwd())
      const lines: ReadonlyArray<Requested> = yield* requested(flags, cwd)
      // Everything is read and hashed before the first append, so a missing file registers nothing.
      const sources = yield* Effect.forEach(
        lines,
        (line) =>
          Effect.map(SourceFiles.manifestOf(line.path, Option.fromNullable(line.checksum), cwd), (manifest) => ({
            ref: line.ref,
            manifest
          })),
        { concurrency: HASHING }
      )
      const result = yield* Sources.register(yield* EventLog.EventLog, sources)
      if (flags.json) {
        const single = Option.isSome(flags.ref) ? result.outcomes[0] : undefined
        return yield* Console.log(
          JSON.stringify(
            single === undefined
              ? {
                  registered: result.registered,
                  changed: result.changed,
                  unchanged: result.unchanged,
                  sources: result.outcomes.map((o, i) => ({ ...o, manifest: sources[i]!.manifest }))
                }
              : { ref: single.ref, registered: single.outcome !== "unchanged", manifest: sources[0]!.manifest },
            null,
            2
          )
        )
      }
      if (Option.isSome(flags.ref)) {
        const { ref, outcome } = result.outcomes[0]!
        const { manifest } = sources[0]!
        return yield* Console.log(
          outcome === "unchanged"
            ? `${ref} is already registered with checksum ${manifest.checksum}: nothing changed.`
            : `Registered ${ref} as AVAILABLE (${manifest.path}).`
        )
      }
      yield* Console.log(summary(result))
    })
  )
).pipe(Command.withDescription("Register external data as AVAILABLE source partitions: one, or many at once"))
