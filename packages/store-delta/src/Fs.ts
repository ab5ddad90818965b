import * as NodeFs from "node:fs/promises"
import { Effect, Option } from "effect"
import { DeltaIOError } from "./Errors.js"

const reason = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

export const errorCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

export const io = <A>(operation: string, path: string, run: () => Promise<A>): Effect.Effect<A, DeltaIOError> =>
  Effect.tryPromise({
    try: run,
    catch: (cause) => new DeltaIOError({ path, operation, reason: reason(cause) })
  })

/** `None` when the path does not exist; other failures stay errors. */
export const ioOptional = <A>(
  operation: string,
  path: string,
  run: () => Promise<A>
): Effect.Effect<Option.Option<A>, DeltaIOError> =>
  Effect.tryPromise({
    try: () => run().then(Option.some),
    catch: (cause) => cause
  }).pipe(
    Effect.catchAll((cause) =>
      errorCode(cause) === "ENOENT"
        ? Effect.succeed(Option.none<A>())
        : Effect.fail(new DeltaIOError({ path, operation, reason: reason(cause) }))
    )
  )

export const readText = (path: string) => io("read", path, () => NodeFs.readFile(path, "utf8"))

export const readTextOptional = (path: string) => ioOptional("read", path, () => NodeFs.readFile(path, "utf8"))

export const readDirOptional = (path: string) => ioOptional("list", path, () => NodeFs.readdir(path))

/** Creates the folder and any missing parents; the first folder it created, if any. */
export const makeDir = (path: string) => io("mkdir", path, () => NodeFs.mkdir(path, { recursive: true }))

export const removeFile = (path: string) => ioOptional("unlink", path, () => NodeFs.unlink(path)).pipe(Effect.asVoid)

/** Writes a whole file and flushes it to disk before returning, so a later link or rename never exposes a hole. */
export const writeDurable = (path: string, data: string | Uint8Array, flag: "wx" | "w" = "wx") =>
  io("write", path, async () => {
    const handle = await NodeFs.open(path, flag)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
  })

/** Flushes a directory entry change (link, rename, unlink) so it survives a power loss. */
export const syncDir = (path: string) =>
  io("fsync", path, async () => {
    const handle = await NodeFs.open(path, "r")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  })
