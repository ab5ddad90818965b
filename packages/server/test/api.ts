/**
 * The API over real HTTP, the same scenarios on every store: idempotent requests, dry runs, the
 * error bodies, cancelling a build that runs in another process, the catalog and the typed client.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Schedule } from "@tessera/core"
import { Effect } from "effect"
import { Client } from "../src/index.js"
import { withAutomations } from "./fixtures/graph.js"
import { type Answer, call, poll, ref, registerRaw, serve, type Store, tessera } from "./Harness.js"

interface BuildBody {
  readonly build: {
    readonly buildRequestId: string
    readonly status: string
    readonly requestedRefs: ReadonlyArray<string>
  }
  readonly partitions: ReadonlyArray<{ readonly ref: string; readonly status: string; readonly requested: boolean }>
  readonly jobRuns: ReadonlyArray<{
    readonly jobName: string
    readonly status: string
    readonly attempts: ReadonlyArray<{
      readonly status: string
      readonly startedAt?: number
      readonly endedAt?: number
    }>
  }>
}

const build = (answer: Answer) => answer.body as BuildBody

/** Reads the build until `done` holds for it. */
export const until = (base: string, id: string, done: (body: BuildBody) => boolean) =>
  poll(Effect.map(call(base, "GET", `/api/v1/builds/${id}`), build), (body) => body.build !== undefined && done(body))

const terminal = (body: BuildBody) => ["COMPLETED", "FAILED", "CANCELLED"].includes(body.build.status)

export const scenarios = (name: string, open: Effect.Effect<Store, never, import("effect").Scope.Scope>) =>
  describe(`the API on ${name}`, () => {
    it.scopedLive("a POST builds; the same id again is the same build (200); the same id with other refs is 409", () =>
      Effect.gen(function* () {
        const store = yield* open
        yield* registerRaw(store, ["2026-11-01", "2026-11-02"])
        const { url } = yield* serve(store)
        const first = yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=2026-11-01"], id: "nightly-1" })
        expect(first.status).toBe(202)
        expect(build(first).build).toMatchObject({ buildRequestId: "nightly-1", source: "api" })
        const done = yield* until(url, "nightly-1", terminal)
        expect(done.build.status).toBe("COMPLETED")
        expect(done.partitions).toContainEqual({ ref: "report/date=2026-11-01", status: "AVAILABLE", requested: true })
        expect(done.jobRuns.map((run) => [run.jobName, run.status])).toEqual([
          ["clean", "COMPLETED"],
          ["report", "COMPLETED"]
        ])
        const attempt = done.jobRuns[0]!.attempts[0]!
        expect(attempt.status).toBe("COMPLETED")
        expect(attempt.endedAt).toBeGreaterThanOrEqual(attempt.startedAt!)

        const again = yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=2026-11-01"], id: "nightly-1" })
        expect(again.status).toBe(200)
        expect(build(again)).toEqual(done)
        const other = yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=2026-11-02"], id: "nightly-1" })
        expect(other.status).toBe(409)
        expect(other.body).toEqual({
          _tag: "Conflict",
          message: expect.stringContaining("nightly-1 exists with other partitions")
        })
        const listed = yield* call(url, "GET", "/api/v1/builds?status=COMPLETED")
        expect(
          (listed.body as { builds: Array<{ buildRequestId: string }> }).builds.map((b) => b.buildRequestId)
        ).toEqual(["nightly-1"])
      })
    )

    it.scopedLive("after tessera compact a build's events are gone: it is answered from the views, and says so", () =>
      Effect.gen(function* () {
        const store = yield* open
        yield* registerRaw(store, ["2026-11-01"])
        const { url } = yield* serve(store)
        yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=2026-11-01"], id: "old" })
        const done = yield* until(url, "old", terminal)
        const clean = yield* call(url, "GET", `/api/v1/partitions/${ref("clean/date=2026-11-01")}`)
        // A later event, so the build's last one is not the log's (which compaction always keeps).
        yield* registerRaw(store, ["2026-11-02"])
        const compacted = yield* Effect.flatMap(tessera(store, ["compact", "--before", "1ms"]), (child) => child.exit)
        expect(compacted.code, compacted.output).toBe(0)
        const events = yield* call(url, "GET", "/api/v1/events?build=old")
        expect((events.body as { events: ReadonlyArray<unknown> }).events).toEqual([])
        const after = build(yield* call(url, "GET", "/api/v1/builds/old"))
        expect(after).toMatchObject({ build: done.build, eventsCompacted: true })
        expect(after.partitions).toEqual([{ ref: "report/date=2026-11-01", status: "AVAILABLE", requested: true }])
        expect(after.jobRuns.map((run) => [run.jobName, run.status, run.attempts.map((a) => a.status)])).toEqual(
          done.jobRuns.map((run) => [run.jobName, run.status, ["COMPLETED"]])
        )
        // The partition keeps its producing run and its lineage.
        expect((yield* call(url, "GET", `/api/v1/partitions/${ref("clean/date=2026-11-01")}`)).body).toEqual(clean.body)
      })
    )

    it.scopedLive("a dry run answers the plan and records nothing", () =>
      Effect.gen(function* () {
        const store = yield* open
        yield* registerRaw(store, ["2026-11-01"])
        const { url } = yield* serve(store)
        const before = (yield* call(url, "GET", "/readyz")).body as { head: number }
        const plan = yield* call(url, "POST", "/api/v1/builds", {
          refs: ["report/date=2026-11-01", "report/date=2026-11-09"],
          dryRun: true
        })
        expect(plan.status).toBe(202)
        expect(plan.body).toMatchObject({
          dryRun: true,
          runs: 4,
          sources: [
            { ref: "raw/date=2026-11-01", available: true },
            { ref: "raw/date=2026-11-09", available: false }
          ]
        })
        expect((plan.body as { partitions: Array<{ decision: string }> }).partitions.map((p) => p.decision)).toEqual([
          "build",
          "build",
          "build",
          "build"
        ])
        const after = (yield* call(url, "GET", "/readyz")).body as { head: number }
        expect(after.head).toBe(before.head)
      })
    )

    it.scopedLive("a range is expanded into the build's refs; the same range and id again is the same build", () =>
      Effect.gen(function* () {
        const store = yield* open
        yield* registerRaw(store, ["2026-11-01", "2026-11-02", "2026-11-03"])
        const { url } = yield* serve(store)
        const range = "report/date=2026-11-01..2026-11-03"
        const days = ["2026-11-01", "2026-11-02", "2026-11-03"].map((d) => `report/date=${d}`)
        const plan = yield* call(url, "POST", "/api/v1/builds", { refs: [range], dryRun: true })
        expect(plan.status).toBe(202)
        expect((plan.body as { runs: number }).runs).toBe(6)
        const first = yield* call(url, "POST", "/api/v1/builds", { refs: [range], id: "backfill-nov" })
        expect(first.status).toBe(202)
        expect(build(first).build.requestedRefs).toEqual(days)
        const done = yield* until(url, "backfill-nov", terminal)
        expect(done.build.status).toBe("COMPLETED")
        expect(done.partitions.filter((p) => p.requested).map((p) => [p.ref, p.status])).toEqual(
          days.map((ref) => [ref, "AVAILABLE"])
        )
        const again = yield* call(url, "POST", "/api/v1/builds", { refs: [range], id: "backfill-nov" })
        expect(again.status).toBe(200)

        const huge = yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=2000-01-01..2099-12-31"] })
        expect(huge.status).toBe(400)
        expect(huge.body).toEqual({
          _tag: "InvalidRequest",
          message: expect.stringContaining("names 36525 partitions, more than one build holds (10000)")
        })
        const nobody = yield* call(url, "POST", "/api/v1/builds", { refs: ["nobody/date=2026-11-01..2026-11-03"] })
        expect(nobody.status).toBe(400)
        expect(nobody.body).toEqual({ _tag: "InvalidRequest", message: expect.stringContaining("no job produces it") })
        const backwards = yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=2026-11-03..2026-11-01"] })
        expect(backwards.status).toBe(400)
      })
    )

    it.scopedLive("errors are { _tag, message } with 400, 401, 403, 404 and 413, never a stack trace", () =>
      Effect.gen(function* () {
        const store = yield* open
        const { url } = yield* serve(store, { token: "s3cret", bodyLimit: 1000 })
        const auth = { authorization: "Bearer s3cret" }
        const badRef = yield* call(url, "POST", "/api/v1/builds", { refs: ["sales/../x"] }, auth)
        expect(badRef.status).toBe(400)
        expect(badRef.body).toEqual({ _tag: "InvalidRequest", message: expect.stringContaining("..") })
        const notJson = yield* call(url, "POST", "/api/v1/builds", "{refs:", auth)
        expect(notJson.status).toBe(400)
        expect(notJson.body).toMatchObject({ _tag: "InvalidRequest", message: expect.stringContaining("JSON") })
        const badLimit = yield* call(url, "GET", "/api/v1/partitions?limit=0")
        expect(badLimit.status).toBe(400)
        expect(badLimit.body).toMatchObject({ _tag: "HttpApiDecodeError", message: expect.stringContaining("limit") })
        const noToken = yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=1"] })
        expect(noToken.status).toBe(401)
        expect(noToken.body).toEqual({
          _tag: "Unauthorized",
          message: expect.stringContaining("Authorization: Bearer")
        })
        const wrongToken = yield* call(
          url,
          "POST",
          "/api/v1/builds",
          { refs: ["report/date=1"] },
          { authorization: "Bearer x" }
        )
        expect(wrongToken.status).toBe(401)
        const missing = yield* call(url, "GET", "/api/v1/builds/nope")
        expect(missing.status).toBe(404)
        expect(missing.body).toEqual({ _tag: "NotFound", message: expect.stringContaining("no build request nope") })
        const missingRef = yield* call(url, "GET", `/api/v1/partitions/${ref("report/date=1")}`)
        expect(missingRef.body).toEqual({ _tag: "NotFound", message: expect.stringContaining("report/date=1") })
        const noRoute = yield* call(url, "GET", "/api/v2/nothing")
        expect(noRoute.status).toBe(404)
        expect(noRoute.body).toMatchObject({ _tag: "NotFound" })
        const large = yield* call(url, "POST", "/api/v1/builds", { refs: ["x".repeat(2000)] }, auth)
        expect(large.status).toBe(413)
        expect(large.body).toEqual({ _tag: "PayloadTooLarge", message: expect.stringContaining("1000 bytes") })
        const cancelFinished = yield* call(url, "PATCH", "/api/v1/builds/nope", { status: "CANCELLED" }, auth)
        expect(cancelFinished.status).toBe(404)
        for (const answer of [badRef, notJson, badLimit, noToken, missing, large]) {
          expect(JSON.stringify(answer.body)).not.toMatch(/\bat .*\.(ts|js):\d+/)
        }

        const readOnly = yield* serve(store, { readOnly: true })
        const refused = yield* call(readOnly.url, "POST", "/api/v1/sources", { ref: "raw/date=1", manifest: {} })
        expect(refused.status).toBe(403)
        expect(refused.body).toEqual({ _tag: "ReadOnly", message: expect.stringContaining("--read-only") })
        expect((yield* call(readOnly.url, "GET", "/api/v1/partitions")).status).toBe(200)
      })
    )

    it.scopedLive("PATCH cancels a build running in another process; that process stops with its build CANCELLED", () =>
      Effect.gen(function* () {
        const store = yield* open
        yield* registerRaw(store, ["2026-11-01"])
        const { url } = yield* serve(store)
        const cli = yield* tessera(store, ["build", "report/date=2026-11-01", "--id", "elsewhere"], {
          SERVER_TEST_SLEEP_MS: "60000"
        })
        yield* until(url, "elsewhere", (body) => body.jobRuns.some((run) => run.status === "RUNNING"))
        const cancelled = yield* call(url, "PATCH", "/api/v1/builds/elsewhere", { status: "CANCELLED" })
        expect(cancelled.status).toBe(200)
        expect(build(cancelled).build.status).toBe("CANCELLED")
        const exit = yield* cli.exit
        expect(exit.code, exit.output).toBe(1)
        expect(exit.output).toContain("CANCELLED")
        const after = yield* until(url, "elsewhere", (body) => body.jobRuns.every((run) => run.status !== "RUNNING"))
        expect(after.jobRuns.map((run) => run.status)).toEqual(["CANCELLED"])
        const again = yield* call(url, "PATCH", "/api/v1/builds/elsewhere", { status: "CANCELLED" })
        expect(again.status).toBe(409)
        expect(again.body).toEqual({
          _tag: "Conflict",
          message: expect.stringContaining("already finished as CANCELLED")
        })
      })
    )

    it.scopedLive("partitions: the catalog, one partition with its staleness and job runs, invalidation, sources", () =>
      Effect.gen(function* () {
        const store = yield* open
        const { url } = yield* serve(store)
        const registered = yield* call(url, "POST", "/api/v1/sources", {
          ref: "raw/date=2026-11-01",
          manifest: { path: "/data/1.csv", checksum: "c1" }
        })
        expect(registered.body).toEqual({ ref: "raw/date=2026-11-01", registered: true })
        const twice = yield* call(url, "POST", "/api/v1/sources", {
          ref: "raw/date=2026-11-01",
          manifest: { path: "/data/1.csv", checksum: "c1" }
        })
        expect(twice.body).toEqual({ ref: "raw/date=2026-11-01", registered: false })
        yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=2026-11-01"], id: "b1" })
        yield* until(url, "b1", terminal)

        const page = yield* call(url, "GET", "/api/v1/partitions?prefix=clean/&limit=10")
        expect((page.body as { partitions: Array<{ ref: string; status: string }> }).partitions).toMatchObject([
          { ref: "clean/date=2026-11-01", status: "AVAILABLE" }
        ])
        const clean = yield* call(url, "GET", `/api/v1/partitions/${ref("clean/date=2026-11-01")}`)
        expect(clean.status).toBe(200)
        expect(clean.body).toMatchObject({
          partition: { ref: "clean/date=2026-11-01", status: "AVAILABLE", manifest: { rows: 1 } },
          job: "clean",
          inputs: ["raw/date=2026-11-01"],
          freshness: { stale: false, decision: "reuse" },
          jobRuns: [{ jobName: "clean", status: "COMPLETED" }]
        })
        const dependents = yield* call(url, "GET", `/api/v1/partitions/${ref("clean/date=2026-11-01")}/dependents`)
        expect(dependents.body).toEqual({ ref: "clean/date=2026-11-01", dependents: ["report/date=2026-11-01"] })
        const source = yield* call(url, "GET", `/api/v1/partitions/${ref("raw/date=2026-11-01")}`)
        expect(source.body).toMatchObject({ freshness: { stale: false, decision: "source" }, inputs: [] })

        const invalidated = yield* call(url, "POST", `/api/v1/partitions/${ref("clean/date=2026-11-01")}/invalidate`, {
          reason: "bad rows"
        })
        expect(invalidated.body).toEqual({ invalidated: ["clean/date=2026-11-01", "report/date=2026-11-01"] })
        const stale = yield* call(url, "GET", `/api/v1/partitions/${ref("report/date=2026-11-01")}`)
        expect(stale.body).toMatchObject({
          partition: { status: "STALE" },
          freshness: { stale: true, decision: "stale" }
        })

        const events = yield* call(
          url,
          "GET",
          `/api/v1/events?ref=${ref("clean/date=2026-11-01")}&kind=PartitionInvalidated`
        )
        expect(events.body).toMatchObject({
          events: [
            { event: { _tag: "PartitionInvalidated", partitionRef: "clean/date=2026-11-01", message: "bad rows" } }
          ]
        })
        const graph = yield* call(url, "GET", "/api/v1/graph")
        expect(graph.body).toMatchObject({
          jobs: [
            { name: "clean", outputs: ["clean/date={date}"] },
            { name: "report", upstream: ["clean"] }
          ],
          edges: [
            { from: "raw/date=…", to: "clean", kind: "source" },
            { from: "clean", to: "report", kind: "job" }
          ]
        })
      })
    )

    it.scopedLive("sensors and schedules: listed with last and next runs, paused and resumed with the token", () =>
      Effect.gen(function* () {
        const store = yield* open
        yield* registerRaw(store, ["2026-11-30"])
        const { url } = yield* serve(store, { graph: withAutomations, token: "t" })
        const auth = { authorization: "Bearer t" }
        // A tick's build, as a daemon requests it: its id names the schedule and the tick.
        const tick = new Date(Schedule.between(withAutomations.schedules[0]!, 0, Date.now(), 1)[0]!).toISOString()
        const fired = yield* call(
          url,
          "POST",
          "/api/v1/builds",
          { refs: ["clean/date=2026-11-30"], id: `schedule-nightly-${tick}` },
          auth
        )
        expect(fired.status).toBe(202)
        yield* until(url, `schedule-nightly-${tick}`, terminal)
        const schedules = yield* call(url, "GET", "/api/v1/schedules")
        expect(schedules.status).toBe(200)
        expect(schedules.body).toMatchObject({
          schedules: [
            {
              name: "nightly",
              cron: "0 2 * * *",
              timeZone: "Europe/Paris",
              paused: false,
              lastTick: { at: Date.parse(tick), buildRequestId: `schedule-nightly-${tick}`, status: "COMPLETED" }
            }
          ]
        })
        const next = (schedules.body as { schedules: ReadonlyArray<{ nextTick: number }> }).schedules[0]!.nextTick
        // 02:00 in Paris is 01:00 UTC in winter and 00:00 UTC in summer.
        expect([0, 1]).toContain(new Date(next).getUTCHours())
        expect((yield* call(url, "GET", "/api/v1/sensors")).body).toMatchObject({
          sensors: [{ name: "inbox", type: "files", glob: "inbox/*.csv", as: "raw/date={date}", paused: false }]
        })

        expect((yield* call(url, "POST", "/api/v1/automations/nightly/pause", {})).status).toBe(401)
        const paused = yield* call(url, "POST", "/api/v1/automations/nightly/pause", {}, auth)
        expect(paused).toMatchObject({ status: 200, body: { name: "nightly", kind: "schedule", paused: true } })
        const listed = (yield* call(url, "GET", "/api/v1/schedules")).body as {
          schedules: ReadonlyArray<{ paused: boolean; nextTick?: number }>
        }
        expect(listed.schedules[0]).toMatchObject({ paused: true })
        expect(listed.schedules[0]!.nextTick).toBeUndefined()
        expect((yield* call(url, "POST", "/api/v1/automations/inbox/pause", {}, auth)).body).toMatchObject({
          kind: "sensor",
          paused: true
        })
        expect((yield* call(url, "POST", "/api/v1/automations/nightly/resume", {}, auth)).body).toMatchObject({
          paused: false
        })
        const unknown = yield* call(url, "POST", "/api/v1/automations/nope/pause", {}, auth)
        expect(unknown.status).toBe(404)
        expect(unknown.body).toMatchObject({ _tag: "NotFound", message: expect.stringContaining("/api/v1/sensors") })
      })
    )

    it.scopedLive("the typed client and the OpenAPI document come from the same declaration", () =>
      Effect.gen(function* () {
        const store = yield* open
        yield* registerRaw(store, ["2026-11-03"])
        const { url } = yield* serve(store)
        const client = yield* Client.make(url)
        const created = yield* client.builds.create({ payload: { refs: ["clean/date=2026-11-03"], id: "typed" } })
        expect("build" in created && created.build.buildRequestId).toBe("typed")
        yield* until(url, "typed", terminal)
        const read = yield* client.builds.get({ path: { id: "typed" } })
        expect(read.build.status).toBe("COMPLETED")
        const missing = yield* Effect.flip(client.builds.get({ path: { id: "absent" } }))
        expect(missing._tag).toBe("NotFound")
        const spec = (yield* call(url, "GET", "/api/openapi.json")).body as { paths: Record<string, unknown> }
        expect(Object.keys(spec.paths)).toEqual(
          expect.arrayContaining([
            "/api/v1/builds",
            "/api/v1/builds/{id}",
            "/api/v1/partitions/{ref}",
            "/api/v1/events/stream"
          ])
        )
        const metrics = yield* call(url, "GET", "/metrics")
        expect(metrics.headers.get("content-type")).toContain("text/plain")
        expect(metrics.body).toMatch(/tessera_http_requests_total\{method="POST",status="202"\} \d+/)
      }).pipe(Effect.provide(FetchHttpClient.layer))
    )
  })
