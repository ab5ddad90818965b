/**
 * The manifest of a source given as a path: a local file is described by its size and SHA-256; a
 * path that is no local file (an object-store URL, a table) needs a checksum from the caller.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Manifest } from "@tessera/core"
import { Effect, Option } from "effect"
import { SourceFileMissing } from "../Errors.js"

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

/** `{ path, size?, checksum }` for `where`, taken from the working directory `cwd` when relative. */
export const manifestOf = (where: string, checksum: Option.Option<string>, cwd: string) =>
  Effect.gen(function* () {
    const local = path.resolve(cwd, where)
    const exists = fs.existsSync(local)
    if (!exists && Option.isNone(checksum)) return yield* new SourceFileMissing({ path: where })
    const file = exists ? yield* describeFile(local) : undefined
    const manifest: Manifest.Manifest = {
      path: exists ? local : where,
      ...(file === undefined ? {} : { size: file.size }),
      checksum: Option.getOrElse(checksum, () => file?.checksum ?? "")
    }
    return manifest
  })
