/**
 * The server under test: started on a free port over a real store (a SQLite file, or a schema of
 * the run's PostgreSQL), spoken to over real HTTP, and `tessera` processes beside it on the same store.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Builds, type EventLog, Graph } from "@tessera/core"
import { PgStore } from "@tessera/store-postgres"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Effect, Layer, Redacted, Schedule, type Scope } from "effect"
import { inject } from "vitest"
import { Server, Subscriptions } from "../src/index.js"
import graph from "./fixtures/graph.js"

declare module "vitest" {
  export interface ProvidedContext {
    readonly postgresUrl: string
  }
}

export const graphModule = fileURLToPath(new URL("./fixtures/graph.ts", import.meta.url))
export const cliBin = fileURLToPath(new URL("../../cli/dist/bin.js", import.meta.url))

export interface Store {
  readonly name: "sqlite" | "postgres"
  /** The store as `--store` names it, for `tessera` processes. */
  readonly spec: string
  readonly layer: Layer.Layer<EventLog.EventLog>
  /** Where the server keeps webhook cursors on this store. */
  readonly subscriptions: Layer.Layer<Subscriptions.Subscriptions>
}

/** A fresh SQLite file in a temp folder, removed with the scope. */
export const sqlite: Effect.Effect<Store, never, Scope.Scope> = Effect.gen(function* () {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-server-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const filename = path.join(dir, "events.db")
  return {
    name: "sqlite",
    spec: `sqlite:${filename}`,
    layer: Layer.orDie(SqliteEventLog.layer({ filename })),
    subscriptions: Layer.orDie(Subscriptions.sqlite(filename))
  }
})

/** A fresh schema of the run's PostgreSQL, dropped with the scope. */
export const postgres: Effect.Effect<Store, never, Scope.Scope> = Effect.gen(function* () {
  const url = inject("postgresUrl")
  const schema = `server_${randomBytes(5).toString("hex")}`
  yield* Effect.addFinalizer(() =>
    Effect.flatMap(PgClient.PgClient, (sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })),
      Effect.ignore
    )
  )
  const spec = `${url}${url.includes("?") ? "&" : "?"}schema=${schema}`
  return {
    name: "postgres",
    spec,
    layer: Layer.orDie(PgStore.layer({ url, schema })),
    subscriptions: Layer.orDie(Subscriptions.postgres({ url, schema }))
  }
})

/** The server over `store` for the scope, with the fixture graph unless told otherwise; its base URL. */
export const serve = (store: Store, options: Server.Options = {}) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(Layer.provideMerge(store.subscriptions, store.layer))
    return yield* Server.start({ port: 0, graph, ...options }).pipe(Effect.provide(context), Effect.orDie)
  })

/** Registers raw/date=d for each date, through core as a sensor would. */
export const registerRaw = (store: Store, dates: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    for (const d of dates) yield* builds.registerSource(`raw/date=${d}`, { path: `/data/${d}.csv`, checksum: `c-${d}` })
  }).pipe(Effect.provide(Layer.provide(Builds.layer(Graph.make([])), store.layer)), Effect.orDie)

export interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers: Headers
}

/** One request over real HTTP; the body is sent as JSON unless it is a string. */
export const call = (
  base: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Effect.Effect<Answer> =>
  Effect.promise(async () => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
    })
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // Not JSON (metrics, an event stream): the text itself.
    }
    return { status: response.status, body: parsed, headers: response.headers }
  })

export const ref = (value: string) => encodeURIComponent(value)

/** `tessera ...args` as a child process on `store`, with the fixture graph; killed with the scope. */
export const tessera = (store: Store, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [cliBin, "--graph", graphModule, "--store", store.spec, ...args], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
      const exit = new Promise<{ code: number | null; output: string }>((resolve) =>
        child.on("close", (code) => resolve({ code, output }))
      )
      return { child, exit: Effect.promise(() => exit), output: () => output }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

/** Runs `read` every 50 ms until `done` holds for what it returns; the test's timeout bounds it. */
export const poll = <A, B extends A = A>(
  read: Effect.Effect<A>,
  done: ((value: A) => value is B) | ((value: A) => boolean)
): Effect.Effect<B> =>
  read.pipe(
    Effect.filterOrFail(
      (value): value is B => done(value),
      () => "not yet"
    ),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.orDie
  )
