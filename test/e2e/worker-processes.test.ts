/**
 * `tessera worker` as real OS processes on a real PostgreSQL: four of them run a 2,000-job build
 * while one is killed with SIGKILL, and two keep a build going while their connections are
 * terminated under them. Everything is checked from the log and the queue afterwards.
 */
import { fileURLToPath } from "node:url"
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { type BuildEvent, EventFilter } from "@tessera/core"
import { Connection, PgEventLog } from "@tessera/store-postgres"
import { Chunk, Context, type Duration, Effect, Layer, Redacted, Schedule, Stream } from "effect"
import * as Invariants from "../src/invariants.js"
import { type Exit, startNode } from "../src/processes.js"
import { fileDatabase } from "../src/postgres.js"
import { GROUP, LEAVES, TOPS } from "./fixtures/worker-graph.js"

const bin = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url))
const graph = fileURLToPath(new URL("./fixtures/worker-graph.ts", import.meta.url))
const database = await fileDatabase()

/** Starts `tessera --graph <fixture> --store <store> ...args`; killed with the scope if still running. */
const tessera = (store: string, args: ReadonlyArray<string>) =>
  startNode([bin, "--graph", graph, "--store", store, ...args], { env: { WORKER_TEST_SLEEP_MS: "5" } })

const worker = (store: string, id: string, lease = 2000) =>
  tessera(store, ["worker", "--id", id, "--concurrency", "8", "--lease", String(lease), "--poll", "200"])

/** A connection of the test's own, to look at the queue and terminate other connections. */
const admin = (url: string) =>
  Effect.map(
    Layer.build(PgClient.layer({ url: Redacted.make(url), maxConnections: 2, applicationName: "tessera-test" })),
    Context.get(PgClient.PgClient)
  )

const allEvents = (url: string, schema: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const log = yield* PgEventLog.make({ schema })
      return Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
    }).pipe(Effect.provide(Connection.clientLayer({ url, maxConnections: 2 })))
  )

/**
 * No job run was RUNNING in two places at once: whenever an attempt of a run (`<id>`, `<id>#2`, …)
 * starts RUNNING, every other attempt still RUNNING has let its lease run out.
 */
const overlappingAttempts = (events: ReadonlyArray<BuildEvent.LoggedEvent>): Array<string> => {
  const live = new Map<string, Map<string, number>>()
  const violations: Array<string> = []
  for (const { seq, event } of events) {
    if (event._tag !== "JobRunStatusChanged" && event._tag !== "JobRunHeartbeat") continue
    const base = event.jobRunId.replace(/#\d+$/, "")
    const attempts = live.get(base) ?? new Map<string, number>()
    live.set(base, attempts)
    if (event._tag === "JobRunStatusChanged" && event.status === "RUNNING") {
      for (const [other, lease] of attempts) {
        if (other !== event.jobRunId && lease > event.timestamp) {
          violations.push(`seq ${seq}: ${event.jobRunId} RUNNING while ${other} was RUNNING under a live lease`)
        }
      }
    }
    if (event._tag === "JobRunStatusChanged" && event.status !== "RUNNING" && event.status !== "SCHEDULED") {
      attempts.delete(event.jobRunId)
    } else if (event.leaseExpiresAt !== undefined && (event._tag === "JobRunHeartbeat" || event.status === "RUNNING")) {
      attempts.set(event.jobRunId, event.leaseExpiresAt)
    }
  }
  return violations
}

/** The partitions a request for `tops` top groups and the leaves no mid reads makes AVAILABLE. */
const plan = (tops: number) => {
  const mids = tops * GROUP
  const refs = [
    ...Array.from({ length: tops }, (_, g) => `top/g=${g}`),
    ...(tops === TOPS ? Array.from({ length: LEAVES - mids }, (_, i) => `leaf/n=${mids + i}`) : [])
  ]
  const leaves = tops === TOPS ? LEAVES : mids
  const partitions = new Set([
    ...Array.from({ length: tops }, (_, g) => `top/g=${g}`),
    ...Array.from({ length: mids }, (_, n) => `mid/n=${n}`),
    ...Array.from({ length: leaves }, (_, n) => `leaf/n=${n}`)
  ])
  return { refs, partitions }
}

/** The log says the build completed, each planned partition became AVAILABLE exactly once, and no run overlapped. */
const checkLog = (events: ReadonlyArray<BuildEvent.LoggedEvent>, buildId: string, partitions: ReadonlySet<string>) => {
  const statuses = events.flatMap(({ event }) =>
    event._tag === "BuildRequestStatusChanged" && event.buildRequestId === buildId ? [event.status] : []
  )
  expect(statuses.at(-1)).toBe("COMPLETED")
  // Gap-free: every event any process appended is in the log once, in seq order.
  expect(events.map((entry) => entry.seq)).toEqual(events.map((_, i) => i + 1))
  const counts = Invariants.buildsPerPartition(events)
  expect(counts.size).toBe(partitions.size)
  expect([...counts.keys()].filter((ref) => !partitions.has(ref))).toEqual([])
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([])
  expect(Invariants.overlappingClaims(events)).toEqual([])
  expect(overlappingAttempts(events)).toEqual([])
  // Nothing was left half-done: every attempt that started ended.
  const last = new Map<string, string>()
  for (const { event } of events) if (event._tag === "JobRunStatusChanged") last.set(event.jobRunId, event.status)
  expect([...last.entries()].filter(([, status]) => status === "RUNNING" || status === "SCHEDULED")).toEqual([])
}

const queueCounts = (sql: PgClient.PgClient, schema: string) =>
  Effect.map(
    sql<{ readonly status: string; readonly n: number }>`SELECT status, count(*)::int4 AS n
      FROM ${sql(`${schema}.job_queue`)} GROUP BY status`,
    (rows) => Object.fromEntries(rows.map((row) => [row.status, row.n]))
  )

/** `tessera build --executor workers` for `refs`, with short job-run leases so takeovers come quickly. */
const workersBuild = (store: string, id: string, refs: ReadonlyArray<string>) =>
  tessera(store, ["build", "--executor", "workers", "--lease", "2000", "--id", id, ...refs])

/** Waits until at least `done` queued runs finished and, if named, `heldBy` holds some. */
const waitForQueue = (
  sql: PgClient.PgClient,
  schema: string,
  until: { readonly done: number; readonly heldBy?: string }
) =>
  Effect.gen(function* () {
    const [row] = yield* sql<{ readonly done: number; readonly held: number }>`SELECT
      count(*) FILTER (WHERE status = 'done')::int4 AS done,
      count(*) FILTER (WHERE status = 'running' AND worker = ${until.heldBy ?? ""})::int4 AS held
      FROM ${sql(`${schema}.job_queue`)}`
    const held = until.heldBy === undefined || (row?.held ?? 0) > 0
    if (row === undefined || row.done < until.done || !held) return yield* Effect.fail("not yet")
  }).pipe(Effect.retry(Schedule.spaced("20 millis")), Effect.catchAll(Effect.die))

/**
 * The build process's exit; if it has not ended well before the test's own timeout, fails with what
 * the queue and the processes say, so a stuck build explains itself instead of just timing out.
 */
const buildExit = (
  build: { readonly exit: Effect.Effect<Exit> },
  sql: PgClient.PgClient,
  schema: string,
  processes: ReadonlyArray<{ readonly output: () => string }>,
  within: Duration.DurationInput
) =>
  build.exit.pipe(
    Effect.timeout(within),
    Effect.catchTag("TimeoutException", () =>
      Effect.flatMap(Effect.either(queueCounts(sql, schema)), (counts) =>
        Effect.dieMessage(
          `the build did not end; queue: ${JSON.stringify(counts)}\n` +
            processes.map((p) => p.output().slice(-2000)).join("\n---\n")
        )
      )
    )
  )

describe("tessera worker processes on PostgreSQL", () => {
  it.scopedLive(
    "4 workers run a 2,000-job build while one is killed with SIGKILL: completed, each partition built once",
    () =>
      Effect.gen(function* () {
        const url = yield* database
        const schema = "sigkill"
        const store = `${url}?schema=${schema}`
        const sql = yield* admin(url)
        const { refs, partitions } = plan(TOPS)
        expect(partitions.size).toBe(2000)
        const workers = yield* Effect.forEach([0, 1, 2, 3], (i) => worker(store, `w${i}`))
        const build = yield* workersBuild(store, "big", refs)
        // Midway: a quarter of the runs done, and the doomed worker holding some.
        yield* waitForQueue(sql, schema, { done: 500, heldBy: "w0" })
        workers[0]!.child.kill("SIGKILL")
        const held = yield* sql<{ readonly key: string }>`SELECT key FROM ${sql(`${schema}.job_queue`)}
          WHERE status = 'running' AND worker = 'w0'`
        expect(held.length).toBeGreaterThan(0)

        const exit = yield* buildExit(build, sql, schema, [build, ...workers], "420 seconds")
        expect(exit.stderr).toBe("")
        expect(exit.stdout).toContain("queued for workers")
        expect(exit.stdout).toContain("COMPLETED")
        expect(exit.code).toBe(0)
        expect((yield* workers[0]!.exit).signal).toBe("SIGKILL")

        // The killed worker's runs went back to the queue after its lease and others finished them.
        const after = yield* sql<{ readonly key: string; readonly finished_by: string | null }>`SELECT key, finished_by
          FROM ${sql(`${schema}.job_queue`)} WHERE key = ANY(${held.map((row) => row.key)})`
        expect(after.length).toBe(held.length)
        expect(after.filter((row) => row.finished_by === "w0" || row.finished_by === null)).toEqual([])
        expect(yield* queueCounts(sql, schema)).toEqual({ done: 2000 })

        checkLog(yield* allEvents(url, schema), "big", partitions)

        // SIGTERM stops the others gracefully.
        for (const running of workers.slice(1)) running.child.kill("SIGTERM")
        for (const running of workers.slice(1)) expect((yield* running.exit).signal).toBeNull()
      }),
    // Generous: 2,000 jobs take about a minute on an idle 2-core machine, several beside other suites.
    480_000
  )

  it.scopedLive(
    "workers whose connections are terminated mid-build reconnect and finish it; no event is lost",
    () =>
      Effect.gen(function* () {
        const url = yield* database
        const schema = "terminate"
        const store = `${url}?schema=${schema}`
        const sql = yield* admin(url)
        const { refs, partitions } = plan(4)
        const workers = yield* Effect.forEach([0, 1], (i) => worker(store, `t${i}`))
        const build = yield* workersBuild(store, "cut", refs)
        let terminated = 0
        for (const threshold of [40, 120, 200, 280]) {
          yield* waitForQueue(sql, schema, { done: threshold })
          const [row] = yield* sql<{ readonly n: number }>`SELECT count(*)::int4 AS n FROM (
            SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
            WHERE application_name = 'tessera-worker' AND datname = current_database()) t WHERE killed`
          terminated += row?.n ?? 0
        }
        expect(terminated).toBeGreaterThan(0)

        const exit = yield* buildExit(build, sql, schema, [build, ...workers], "240 seconds")
        expect(exit.stderr).toBe("")
        expect(exit.code).toBe(0)
        expect(yield* queueCounts(sql, schema)).toEqual({ done: partitions.size })
        checkLog(yield* allEvents(url, schema), "cut", partitions)
        for (const running of workers) running.child.kill("SIGTERM")
        for (const running of workers) expect((yield* running.exit).signal).toBeNull()
      }),
    300_000
  )

  it.scopedLive(
    "a worker stopped with SIGTERM mid-build gives its runs back before it exits; the others finish the build",
    () =>
      Effect.gen(function* () {
        const url = yield* database
        const schema = "sigterm"
        const store = `${url}?schema=${schema}`
        const sql = yield* admin(url)
        const { refs, partitions } = plan(2)
        const staying = yield* worker(store, "staying")
        // A lease far longer than the test: only giving its runs back lets the others have them.
        const leaving = yield* worker(store, "leaving", 600_000)
        const build = yield* workersBuild(store, "term", refs)
        yield* waitForQueue(sql, schema, { done: 20, heldBy: "leaving" })
        leaving.child.kill("SIGTERM")
        const left = yield* leaving.exit
        expect(left.signal).toBeNull()
        expect(left.code, left.stderr).toBe(130)
        expect(left.stdout).toContain("unfinished runs given back")
        expect(left.stderr.trim()).toMatch(/^error: interrupted by SIGINT or SIGTERM: [^\n]*$/)
        const held = yield* sql`SELECT key FROM ${sql(`${schema}.job_queue`)}
          WHERE status = 'running' AND worker = 'leaving'`
        expect(held).toEqual([])

        const exit = yield* buildExit(build, sql, schema, [build, staying, leaving], "240 seconds")
        expect(exit.stderr).toBe("")
        expect(exit.code).toBe(0)
        checkLog(yield* allEvents(url, schema), "term", partitions)
        staying.child.kill("SIGTERM")
        expect((yield* staying.exit).signal).toBeNull()
      }),
    300_000
  )
})
