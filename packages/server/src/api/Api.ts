/**
 * The Tessera API, declared once: the server implements it (`HttpApiBuilder`), the OpenAPI document
 * at /api/openapi.json is derived from it, and `Client` gives other TypeScript services a typed
 * client of it. Refs in paths are URL-encoded (`sales%2Fdate%3D2026-11-01`).
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, OpenApi } from "@effect/platform"
import { AutomationOverview, type BuildEvent, type Manifest } from "@tessera/core"
import { Schema } from "effect"
import * as Bodies from "./Bodies.js"
import {
  Conflict,
  InternalError,
  InvalidRequest,
  NotFound,
  PayloadTooLarge,
  ReadOnly,
  StoreUnavailable,
  Unauthorized
} from "./Errors.js"

/**
 * Guards every endpoint that writes to the log: refused with 403 when the server is read-only, and
 * with 401 without `Authorization: Bearer <token>` when the server was given a token.
 */
export class Guard extends HttpApiMiddleware.Tag<Guard>()("@tessera/server/Guard", {
  failure: Schema.Union(Unauthorized, ReadOnly)
}) {}

/** An event of the log and a manifest, as the API carries them. */
export type Event = BuildEvent.BuildEvent
export type PartitionManifest = Manifest.Manifest

const BuildId = Schema.Struct({ id: Schema.String })
const Ref = Schema.Struct({ ref: Schema.String })

export class BuildsGroup extends HttpApiGroup.make("builds")
  .add(
    HttpApiEndpoint.post("create", "/api/v1/builds")
      .setPayload(Bodies.CreateBuild)
      .addSuccess(Bodies.Build, { status: 202 })
      .addSuccess(Bodies.DryRunPlan, { status: 202 })
      // The same id again: the build it names, as it stands now.
      .addSuccess(Bodies.Build.annotations({ identifier: "ExistingBuild" }), { status: 200 })
      .middleware(Guard)
      .annotate(OpenApi.Summary, "Request a build, or plan one (dryRun)")
  )
  .add(
    HttpApiEndpoint.get("list", "/api/v1/builds")
      .setUrlParams(Bodies.BuildsQuery)
      .addSuccess(Bodies.BuildPage)
      .annotate(OpenApi.Summary, "Builds, by id, one page at a time")
  )
  .add(
    HttpApiEndpoint.get("get", "/api/v1/builds/:id")
      .setPath(BuildId)
      .addSuccess(Bodies.Build)
      .annotate(OpenApi.Summary, "One build: its status, its view of its partitions, its job runs and their attempts")
  )
  .add(
    HttpApiEndpoint.patch("update", "/api/v1/builds/:id")
      .setPath(BuildId)
      .setPayload(Bodies.UpdateBuild)
      .addSuccess(Bodies.Build)
      .middleware(Guard)
      .annotate(OpenApi.Summary, "Cancel a build ({ status: CANCELLED }), wherever it runs")
  )
  .add(
    HttpApiEndpoint.post("resume", "/api/v1/builds/:id/resume")
      .setPath(BuildId)
      .setPayload(Bodies.ResumeBuild)
      .addSuccess(Bodies.Build, { status: 202 })
      .middleware(Guard)
      .annotate(OpenApi.Summary, "Continue a build whose process died, in this server")
  )
  .add(
    HttpApiEndpoint.get("stream", "/api/v1/builds/:id/events/stream")
      .setPath(BuildId)
      .setHeaders(Bodies.StreamHeaders)
      .addSuccess(Bodies.EventStream)
      .annotate(OpenApi.Summary, "The build's events as server-sent events, ending with its terminal status")
  ) {}

export class PartitionsGroup extends HttpApiGroup.make("partitions")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/partitions")
      .setUrlParams(Bodies.PartitionsQuery)
      .addSuccess(Bodies.PartitionPage)
      .annotate(OpenApi.Summary, "The catalog, by ref, one page at a time")
  )
  .add(
    HttpApiEndpoint.get("get", "/api/v1/partitions/:ref")
      .setPath(Ref)
      .addSuccess(Bodies.PartitionDetail)
      .annotate(OpenApi.Summary, "One partition: its row, manifest, whether it is stale and why, its job runs")
  )
  .add(
    HttpApiEndpoint.get("dependents", "/api/v1/partitions/:ref/dependents")
      .setPath(Ref)
      .addSuccess(Bodies.Dependents)
      .annotate(OpenApi.Summary, "What was built from the partition: the outputs of completed job runs that read it")
  )
  .add(
    HttpApiEndpoint.post("invalidate", "/api/v1/partitions/:ref/invalidate")
      .setPath(Ref)
      .setPayload(Schema.Struct({ reason: Schema.optional(Schema.String) }))
      .addSuccess(Bodies.Invalidated)
      .middleware(Guard)
      .annotate(OpenApi.Summary, "Mark the partition and everything built from it STALE")
  ) {}

export class SourcesGroup extends HttpApiGroup.make("sources").add(
  HttpApiEndpoint.post("register", "/api/v1/sources")
    .setPayload(Bodies.RegisterSource)
    .addSuccess(Bodies.Registered)
    .middleware(Guard)
    .annotate(OpenApi.Summary, "Register a source partition as AVAILABLE (idempotent on manifest.checksum)")
) {}

export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/events")
      .setUrlParams(Bodies.EventsQuery)
      .addSuccess(Bodies.EventPage)
      .annotate(OpenApi.Summary, "The event log, in seq order, one page at a time")
  )
  .add(
    HttpApiEndpoint.get("stream", "/api/v1/events/stream")
      .setUrlParams(Bodies.EventsQuery)
      .setHeaders(Bodies.StreamHeaders)
      .addSuccess(Bodies.EventStream)
      .annotate(OpenApi.Summary, "The event log live, as server-sent events resumable from Last-Event-ID")
  ) {}

export class GraphGroup extends HttpApiGroup.make("graph").add(
  HttpApiEndpoint.get("get", "/api/v1/graph")
    .addSuccess(Bodies.GraphBody)
    .annotate(OpenApi.Summary, "The server's graph: jobs, their output patterns and what they read")
) {}

const AutomationName = Schema.Struct({ name: Schema.String })

export const Paused = Schema.Struct({
  name: Schema.String,
  kind: Schema.Literal("sensor", "schedule"),
  paused: Schema.Boolean
}).annotations({ identifier: "Paused" })

export class AutomationsGroup extends HttpApiGroup.make("automations")
  .add(
    HttpApiEndpoint.get("sensors", "/api/v1/sensors")
      .addSuccess(Schema.Struct({ sensors: Schema.Array(AutomationOverview.SensorInfo) }))
      .annotate(OpenApi.Summary, "The graph's sensors: paused or not, last and next pass")
  )
  .add(
    HttpApiEndpoint.get("schedules", "/api/v1/schedules")
      .addSuccess(Schema.Struct({ schedules: Schema.Array(AutomationOverview.ScheduleInfo) }))
      .annotate(OpenApi.Summary, "The graph's schedules: paused or not, last tick (from the log) and next")
  )
  .add(
    HttpApiEndpoint.post("pause", "/api/v1/automations/:name/pause")
      .setPath(AutomationName)
      .setPayload(Schema.Struct({}))
      .addSuccess(Paused)
      .middleware(Guard)
      .annotate(OpenApi.Summary, "Pause a sensor or schedule in every daemon and server on this store")
  )
  .add(
    HttpApiEndpoint.post("resume", "/api/v1/automations/:name/resume")
      .setPath(AutomationName)
      .setPayload(Schema.Struct({}))
      .addSuccess(Paused)
      .middleware(Guard)
      .annotate(OpenApi.Summary, "Resume it; a schedule's ticks missed while paused are not caught up")
  ) {}

export class HealthGroup extends HttpApiGroup.make("health")
  .add(HttpApiEndpoint.get("healthz", "/healthz").addSuccess(Bodies.Health))
  .add(
    HttpApiEndpoint.get("readyz", "/readyz")
      .addSuccess(Bodies.Ready)
      .annotate(OpenApi.Summary, "Ready when the store answers")
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(Bodies.MetricsText)
      .annotate(OpenApi.Summary, "Prometheus metrics")
  ) {}

export class TesseraApi extends HttpApi.make("tessera")
  .add(BuildsGroup)
  .add(PartitionsGroup)
  .add(SourcesGroup)
  .add(EventsGroup)
  .add(GraphGroup)
  .add(AutomationsGroup)
  .add(HealthGroup)
  .addError(InvalidRequest)
  .addError(NotFound)
  .addError(Conflict)
  .addError(PayloadTooLarge)
  .addError(StoreUnavailable)
  .addError(InternalError)
  .annotate(OpenApi.Title, "Tessera")
  .annotate(OpenApi.Description, "Partition builds over HTTP: request, follow, cancel, inspect") {}
