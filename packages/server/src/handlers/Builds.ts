/**
 * /api/v1/builds: request (idempotent on id), list, read, cancel, resume and follow builds, through
 * core's `Builds` like `tessera build|cancel|resume` do.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Builds, EventLog, Selection, Status } from "@tessera/core"
import { Effect, Metric, Option, Schema } from "effect"
import { TesseraApi } from "../api/Api.js"
import * as Bodies from "../api/Bodies.js"
import { Conflict, InvalidRequest } from "../api/Errors.js"
import { buildsRequested } from "../metrics/ServerMetrics.js"
import { ServerConfig } from "../ServerConfig.js"
import * as EventStream from "../sse/EventStream.js"
import * as BuildView from "../views/BuildView.js"
import { Webhooks } from "../webhooks/Webhooks.js"
import { http } from "./Failures.js"

const sameRefs = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => {
  const left = new Set(a)
  const right = new Set(b)
  return left.size === right.size && [...left].every((ref) => right.has(ref))
}

const encodeBuild = Schema.encode(Bodies.Build)

/** The build as it stands, 200: what a repeated request with the same id gets. */
const existing = (build: Bodies.Build) =>
  Effect.flatMap(Effect.orDie(encodeBuild(build)), (body) =>
    Effect.orDie(HttpServerResponse.json(body, { status: 200 }))
  )

const refused = (id: string, requested: ReadonlyArray<string>, found: ReadonlyArray<string>) =>
  new Conflict({
    message:
      `build ${id} exists with other partitions (${found.join(", ")}) than requested (${requested.join(", ")}): ` +
      "choose another id, or leave it out to get a new one"
  })

const needsGraph = new InvalidRequest({
  message:
    "this server was started without a graph, so it cannot plan builds: start `tessera serve` with --graph <module> " +
    "(or TESSERA_GRAPH, or `graph` in tessera.config.ts)"
})

export const BuildsLive = HttpApiBuilder.group(TesseraApi, "builds", (handlers) =>
  handlers
    .handle("create", ({ payload }) =>
      Effect.gen(function* () {
        const config = yield* ServerConfig
        const builds = yield* Builds.Builds
        if (Option.isNone(config.graph)) return yield* needsGraph
        // Selections become the refs they name here, so the same request with the same id compares equal.
        const refs = yield* http(Selection.expandAll(config.graph.value, payload.refs))
        if (payload.dryRun === true) {
          const plan = yield* http(builds.plan(refs))
          return { dryRun: true as const, ...plan }
        }
        const webhooks = yield* Webhooks
        if (payload.id !== undefined) {
          const before = yield* Effect.either(BuildView.read(payload.id))
          if (before._tag === "Right") {
            const found = before.right.build.requestedRefs
            if (!sameRefs(found, refs)) return yield* refused(payload.id, refs, found)
            if (payload.callbackUrl !== undefined) {
              yield* webhooks.check(payload.callbackUrl)
              yield* http(webhooks.subscribe(payload.id, payload.callbackUrl))
            }
            return yield* existing(before.right)
          }
          if (before.left._tag !== "UnknownBuild") return yield* http(Effect.fail(before.left))
        }
        if (payload.callbackUrl !== undefined) yield* webhooks.check(payload.callbackUrl)
        const handle = yield* http(
          builds.request(refs, {
            id: payload.id,
            source: "api",
            concurrency: payload.concurrency,
            leaseMs: payload.leaseMs,
            executor: payload.executor ?? config.executor,
            retry: payload.retries === undefined ? undefined : { attempts: payload.retries + 1 }
          })
        )
        const view = yield* http(BuildView.read(handle.id))
        // Another request took this id first, between the check above and ours: it is their build.
        if (!sameRefs(view.build.requestedRefs, refs)) {
          return yield* refused(handle.id, refs, view.build.requestedRefs)
        }
        yield* Metric.increment(buildsRequested)
        if (payload.callbackUrl !== undefined) yield* http(webhooks.subscribe(handle.id, payload.callbackUrl))
        return view
      })
    )
    .handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const page = yield* http(
          log.buildRequests({
            ...(urlParams.status === undefined ? {} : { statuses: [urlParams.status] }),
            after: urlParams.after,
            limit: urlParams.limit ?? 100
          })
        )
        return { builds: page.items, ...(page.next === undefined ? {} : { next: page.next }) }
      })
    )
    .handle("get", ({ path }) => http(BuildView.read(path.id)))
    .handle("update", ({ path }) =>
      Effect.gen(function* () {
        const builds = yield* Builds.Builds
        yield* http(builds.cancel(path.id))
        return yield* http(BuildView.read(path.id))
      })
    )
    .handle("resume", ({ path, payload }) =>
      Effect.gen(function* () {
        const config = yield* ServerConfig
        if (Option.isNone(config.graph)) return yield* needsGraph
        const builds = yield* Builds.Builds
        yield* http(builds.resume(path.id, payload))
        return yield* http(BuildView.read(path.id))
      })
    )
    .handle("stream", ({ path, headers }) =>
      Effect.gen(function* () {
        // A build that does not exist is a 404 now, not a stream that never says anything.
        yield* http(BuildView.read(path.id))
        return yield* EventStream.response({
          filter: { buildRequestIds: [path.id] },
          after: headers["last-event-id"] ?? 0,
          until: ({ event }) => event._tag === "BuildRequestStatusChanged" && Status.isTerminalBuildStatus(event.status)
        })
      })
    )
)
