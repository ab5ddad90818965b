import * as NodeFsSync from "node:fs"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { promisify } from "node:util"
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

/** Removes a file (gone already is fine); a synchronous unlink, as the durable writes' small calls are. */
export const removeFile = (path: string) =>
  ioOptional("unlink", path, async () => NodeFsSync.unlinkSync(path)).pipe(Effect.asVoid)

/**
 * The durable writes do their opens, writes and closes synchronously and only the flush on libuv's
 * thread pool: on a local disk the small calls take microseconds, while each asynchronous call is a
 * trip through the pool's four threads, and a commit made of a dozen such trips spent most of its
 * time waiting for them. The flushes stay asynchronous, so other fibers run while the disk works.
 */
const fsyncFd = promisify(NodeFsSync.fsync)

const flushAndClose = async (fd: number) => {
  try {
    await fsyncFd(fd)
  } finally {
    NodeFsSync.closeSync(fd)
  }
}

const flushDir = async (path: string) => {
  const fd = NodeFsSync.openSync(path, "r")
  await flushAndClose(fd)
}

const writeAll = (fd: number, data: string | Uint8Array) => {
  const bytes = typeof data === "string" ? Buffer.from(data) : data
  let written = 0
  while (written < bytes.byteLength) written += NodeFsSync.writeSync(fd, bytes, written)
}

/** Writes a whole file and flushes it to disk before returning, so a later link or rename never exposes a hole. */
export const writeDurable = (path: string, data: string | Uint8Array, flag: "wx" | "w" = "wx") =>
  io("write", path, async () => {
    const fd = NodeFsSync.openSync(path, flag)
    try {
      writeAll(fd, data)
    } catch (cause) {
      NodeFsSync.closeSync(fd)
      throw cause
    }
    await flushAndClose(fd)
  })

/** A file to create: its bytes, and whether its entry in its folder must be durable too (a file a commit names, not a temp name to be linked). */
export interface NewFile {
  readonly path: string
  readonly data: string | Uint8Array
  readonly named: boolean
}

/**
 * Creates every file holding its bytes, its folder (and missing parents) first if needed, and returns
 * once the bytes, the named files' entries in their folders and a created folder's own entry are on
 * disk: a commit may then name them. Every file is created and written before any flush starts, and
 * the flushes run at once: on ext4 creating a file waits for a journal commit a running flush began,
 * and a commit whose data file was created while its temp file flushed spent 1–3 ms in that open.
 */
export const createDurable = (files: ReadonlyArray<NewFile>) => {
  let current = files[0]?.path ?? ""
  return Effect.tryPromise({
    try: async () => {
      const fds: Array<number> = []
      const folders = new Set<string>()
      try {
        for (const file of files) {
          current = file.path
          const folder = Path.dirname(file.path)
          let fd: number
          try {
            fd = NodeFsSync.openSync(file.path, "wx")
          } catch (cause) {
            if (errorCode(cause) !== "ENOENT") throw cause
            const created = NodeFsSync.mkdirSync(folder, { recursive: true })
            if (created !== undefined) folders.add(Path.dirname(created))
            fd = NodeFsSync.openSync(file.path, "wx")
          }
          fds.push(fd)
          writeAll(fd, file.data)
          if (file.named) folders.add(folder)
        }
        await Promise.all([...fds.map((fd) => fsyncFd(fd)), ...[...folders].map(flushDir)])
      } finally {
        for (const fd of fds) NodeFsSync.closeSync(fd)
      }
    },
    catch: (cause) => new DeltaIOError({ path: current, operation: "write", reason: reason(cause) })
  })
}

/** Flushes a directory entry change (link, rename, unlink) so it survives a power loss. */
export const syncDir = (path: string) => io("fsync", path, () => flushDir(path))
