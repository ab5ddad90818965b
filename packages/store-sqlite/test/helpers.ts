/**
 * Test helpers: temp directories that clean up after themselves, a raw SQLite connection to look
 * under the store, and terse build events.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { BuildEvent, EventId, PartitionRef } from "@tessera/core"
import { Effect } from "effect"

export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-sqlite-test-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A plain connection to `filename`, closed with the scope; it leaves the journal mode alone. */
export const rawClient = (filename: string) =>
  SqliteClient.make({ filename, disableWAL: true }).pipe(Effect.provide(Reactivity.layer))

const stamp = (build: string) => {
  const timestamp = Date.now()
  return { eventId: EventId.unsafeMake(timestamp), timestamp, buildRequestId: build }
}

export const liveLease = () => Date.now() + 3_600_000

export const delegated = (ref: string, build = "b1") =>
  new BuildEvent.Delegated({
    ...stamp(build),
    partitionRef: PartitionRef.unsafeMake(ref),
    toBuildRequestId: "b0",
    mode: "historical"
  })

const jobRun = (run: string, build: string, ref: string, status: "SCHEDULED" | "RUNNING" | "COMPLETED") =>
  new BuildEvent.JobRunStatusChanged({
    ...stamp(build),
    jobRunId: run,
    jobName: "job",
    jobVersion: "1",
    outputs: [PartitionRef.unsafeMake(ref)],
    inputs: [],
    attempt: 1,
    status,
    ...(status === "COMPLETED" ? { manifest: { rows: 1 } } : { leaseExpiresAt: liveLease() })
  })

const partition = (run: string, build: string, ref: string, status: "SCHEDULED" | "BUILDING" | "AVAILABLE") =>
  new BuildEvent.PartitionStatusChanged({
    ...stamp(build),
    partitionRef: PartitionRef.unsafeMake(ref),
    status,
    jobRunId: run
  })

/** A job run claiming `ref`: SCHEDULED under a live lease. */
export const claim = (run: string, build: string, ref: string) => [
  jobRun(run, build, ref, "SCHEDULED"),
  partition(run, build, ref, "SCHEDULED")
]

/** The rest of the run: RUNNING, COMPLETED, and `ref` AVAILABLE. */
export const complete = (run: string, build: string, ref: string) => [
  jobRun(run, build, ref, "RUNNING"),
  partition(run, build, ref, "BUILDING"),
  jobRun(run, build, ref, "COMPLETED"),
  partition(run, build, ref, "AVAILABLE")
]

/** The file's bytes, with its -wal beside it when there is one: what "left untouched" compares. */
export const bytesOf = (filename: string) =>
  Effect.sync(() =>
    [filename, `${filename}-wal`].map((file) => (fs.existsSync(file) ? fs.readFileSync(file).toString("hex") : ""))
  )

export interface OpenOutcome {
  readonly ok: boolean
  readonly tag?: string
  readonly message?: string
}

const opener = fileURLToPath(new URL("./fixtures/open.ts", import.meta.url))
const openerTsconfig = fileURLToPath(new URL("./fixtures/tsconfig.json", import.meta.url))

/**
 * Opens the store at `filename` in a child process. Under root, which ignores file permissions, the
 * child runs as `nobody` so that read-only files are read-only to it.
 */
export const openInChild = (filename: string) =>
  Effect.async<OpenOutcome, Error>((resume) => {
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
    const child = spawn(process.execPath, ["--import", "tsx", opener, filename], {
      ...asNobody,
      env: { ...process.env, TSX_TSCONFIG_PATH: openerTsconfig },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("close", (code) =>
      resume(
        code === 0
          ? Effect.succeed(JSON.parse(stdout) as OpenOutcome)
          : Effect.fail(new Error(`the child exited with ${code}: ${stderr}`))
      )
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })
