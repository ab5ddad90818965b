/**
 * The dashboard at `/`, on the router the API is served from: pages read the log through core and
 * the API's own views, so a page shows exactly what the API answers. Actions post to the API.
 */
import { HttpApiBuilder, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import {
  AutomationOverview,
  type AutomationState,
  BuildEvent,
  type Builds,
  EventLog,
  Graph,
  Queries,
  Status
} from "@tessera/core"
import { Clock, Effect, Option } from "effect"
import { filterOf } from "../handlers/Events.js"
import { ServerConfig } from "../ServerConfig.js"
import * as BuildView from "../views/BuildView.js"
import * as PartitionView from "../views/PartitionView.js"
import * as Assets from "./Assets.js"
import { html } from "./Html.js"
import * as Pages from "./Pages.js"

/** Builds and partitions per page of the lists and the grid. */
const PAGE = 200
const GRID_PAGE = 1000

const page = (body: { readonly text: string }, status = 200) =>
  HttpServerResponse.text(body.text, { status, contentType: "text/html; charset=utf-8" })

const query = Effect.map(HttpServerRequest.ParsedSearchParams, (params) => (name: string) => {
  const value = params[name]
  const text = Array.isArray(value) ? value[0] : value
  return text === undefined || text === "" ? undefined : text
})

const param = (name: string) => Effect.map(HttpRouter.params, (params) => params[name] ?? "")

const counts = (values: Iterable<string>, order: ReadonlyArray<string>) => {
  const found = new Map<string, number>()
  for (const value of values) found.set(value, (found.get(value) ?? 0) + 1)
  return order.filter((name) => found.has(name)).map((name) => [name, found.get(name)!] as const)
}

const oneOf = <A extends string>(values: ReadonlyArray<A>, value: string | undefined): A | undefined =>
  values.find((candidate) => candidate === value)

export const DashboardLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<
      EventLog.EventLog | Builds.Builds | ServerConfig | AutomationState.AutomationState
    >()
    const config = yield* ServerConfig
    const log = yield* EventLog.EventLog
    const chrome: Pages.Chrome = {
      store: log.store,
      canAct: !config.readOnly,
      needsToken: Option.isSome(config.token)
    }
    const failed = (error: { readonly _tag: string; readonly message: string }) =>
      page(
        Pages.layout(
          chrome,
          "Not found",
          "",
          html`<h1>${error._tag}</h1><p>${error.message}</p><p><a href="/">Overview</a></p>`
        ),
        error._tag === "UnknownBuild" || error._tag === "UnknownPartition"
          ? 404
          : error._tag === "InvalidPartitionRef"
            ? 400
            : 503
      )
    const route = <E extends { readonly _tag: string; readonly message: string }>(
      path: HttpRouter.PathInput,
      handler: Effect.Effect<
        HttpServerResponse.HttpServerResponse,
        E,
        | EventLog.EventLog
        | Builds.Builds
        | ServerConfig
        | AutomationState.AutomationState
        | HttpRouter.RouteContext
        | HttpServerRequest.ParsedSearchParams
      >
    ) => router.get(path, handler.pipe(Effect.catchAll(failed), Effect.provide(context)))

    yield* router.get(
      "/assets/app.css",
      Effect.succeed(HttpServerResponse.text(Assets.css, { contentType: "text/css" }))
    )
    yield* router.get(
      "/assets/app.js",
      Effect.succeed(HttpServerResponse.text(Assets.js, { contentType: "text/javascript" }))
    )

    yield* route(
      "/",
      Effect.gen(function* () {
        const builds = yield* Queries.allPages((after) => log.buildRequests({ after }))
        const partitions = yield* Queries.allPages((after) => log.partitions({ after }))
        const recent = [...builds].sort((a, b) => b.receivedAt - a.receivedAt).slice(0, 20)
        return page(
          Pages.overview(chrome, {
            builds: counts(
              builds.map((b) => b.status),
              Status.BuildRequestStatus.literals
            ),
            partitions: counts(
              partitions.map((p) => p.status),
              Status.CatalogStatus.literals
            ),
            recent
          })
        )
      })
    )

    yield* route(
      "/partitions",
      Effect.gen(function* () {
        const get = yield* query
        const status = oneOf(Status.CatalogStatus.literals, get("status"))
        const rows = yield* log.partitions({
          prefix: get("prefix"),
          ...(status === undefined ? {} : { statuses: [status] }),
          after: get("after"),
          limit: GRID_PAGE
        })
        return page(
          Pages.partitions(chrome, {
            rows: rows.items,
            prefix: get("prefix"),
            status,
            statuses: Status.CatalogStatus.literals,
            next: rows.next
          })
        )
      })
    )

    yield* route(
      "/partitions/:ref",
      Effect.gen(function* () {
        const ref = yield* param("ref")
        const detail = yield* PartitionView.read(ref, config.graph)
        const dependents = yield* PartitionView.dependents(ref)
        const history = yield* log.read({ partitionRefs: [ref] }, { limit: PAGE })
        return page(Pages.partition(chrome, { detail, dependents: dependents.dependents, history: history.events }))
      })
    )

    yield* route(
      "/builds",
      Effect.gen(function* () {
        const get = yield* query
        const status = oneOf(Status.BuildRequestStatus.literals, get("status"))
        const rows = yield* log.buildRequests({
          ...(status === undefined ? {} : { statuses: [status] }),
          after: get("after"),
          limit: PAGE
        })
        return page(
          Pages.builds(chrome, {
            rows: rows.items,
            status,
            statuses: Status.BuildRequestStatus.literals,
            next: rows.next
          })
        )
      })
    )

    yield* route(
      "/builds/:id",
      Effect.gen(function* () {
        const view = yield* BuildView.read(yield* param("id"))
        return page(Pages.build(chrome, view, yield* Clock.currentTimeMillis))
      })
    )

    yield* route(
      "/builds/:id/live",
      Effect.gen(function* () {
        const view = yield* BuildView.read(yield* param("id"))
        return page(Pages.buildLive(view, yield* Clock.currentTimeMillis, chrome.canAct))
      })
    )

    yield* route(
      "/automations",
      Effect.gen(function* () {
        const graph = Option.getOrElse(config.graph, () => Graph.make([]))
        return page(
          Pages.automations(chrome, {
            sensors: yield* AutomationOverview.sensors(graph),
            schedules: yield* AutomationOverview.schedules(graph)
          })
        )
      })
    )

    const eventsQuery = Effect.map(query, (get) => {
      const kind = oneOf(BuildEvent.kinds, get("kind"))
      const after = Number(get("after") ?? "")
      return {
        build: get("build"),
        ref: get("ref"),
        kind,
        after: Number.isInteger(after) && after >= 0 ? after : undefined
      }
    })

    yield* route(
      "/events",
      Effect.gen(function* () {
        const filter = yield* eventsQuery
        const unfiltered = filter.build === undefined && filter.ref === undefined && filter.kind === undefined
        // Unfiltered, the page opens on the latest events; filtered, on the first that match.
        const after = filter.after ?? (unfiltered ? Math.max(0, (yield* log.head) - PAGE) : 0)
        const rows = yield* log.read(filterOf(filter), { after, limit: PAGE })
        return page(
          Pages.events(chrome, {
            rows: rows.events,
            filter: { build: filter.build, ref: filter.ref, kind: filter.kind },
            next: rows.next
          })
        )
      })
    )

    yield* route(
      "/events/rows",
      Effect.gen(function* () {
        const filter = yield* eventsQuery
        const rows = yield* log.read(filterOf(filter), { after: filter.after ?? 0, limit: PAGE })
        return page(Pages.eventRows(rows.events))
      })
    )
  })
)
