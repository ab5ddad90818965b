import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Args, Command, Options } from "@effect/cli"
import { Builds, type Manifest } from "@tessera/core"
import { Console, Effect, Option } from "effect"
import { SourceFileMissing } from "../Errors.js"
import * as Positional from "./Positional.js"
import { shared, withBuilds } from "./Root.js"

/** Size and SHA-256 of a local file, streamed so large files do not fill memory. */
const describeFile = (file: string) =>
  Effect.tryPromise({
    try: async () => {
      const hash = createHash("sha256")
      let size = 0
      for await (const chunk of fs.createReadStream(file)) {
        hash.update(chunk as Buffer)
        size += (chunk as Buffer).length
      }
      return { size, checksum: `sha256:${hash.digest("hex")}` }
    },
    catch: () => new SourceFileMissing({ path: file })
  })

export const register = Command.make(
  "register",
  {
    ref: Positional.ref().pipe(Args.withDescription("The source partition, e.g. raw/date=2026-11-01")),
    path: Options.text("path").pipe(Options.withDescription("Where its data is: a local file, or a URL")),
    checksum: Options.text("checksum").pipe(
      Options.withDescription(
        "Identifies this version of the data; default: the SHA-256 of the local file. The same ref and checksum " +
          "again is a no-op, so the same file is never processed twice"
      ),
      Options.optional
    ),
    ...shared
  },
  (options) =>
    withBuilds("register", options, { needsGraph: false }, () =>
      Effect.gen(function* () {
        const builds = yield* Builds.Builds
        const local = path.resolve(options.path)
        const exists = fs.existsSync(local)
        if (!exists && Option.isNone(options.checksum)) return yield* new SourceFileMissing({ path: options.path })
        const file = exists ? yield* describeFile(local) : undefined
        const manifest: Manifest.Manifest = {
          path: exists ? local : options.path,
          ...(file === undefined ? {} : { size: file.size }),
          checksum: Option.getOrElse(options.checksum, () => file?.checksum ?? "")
        }
        const { registered } = yield* builds.registerSource(options.ref, manifest)
        if (options.json) return yield* Console.log(JSON.stringify({ ref: options.ref, registered, manifest }, null, 2))
        yield* Console.log(
          registered
            ? `Registered ${options.ref} as AVAILABLE (${manifest.path}).`
            : `${options.ref} is already registered with checksum ${manifest.checksum}: nothing changed.`
        )
      })
    )
).pipe(Command.withDescription("Register external data as an AVAILABLE source partition"))
