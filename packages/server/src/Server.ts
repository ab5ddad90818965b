/**
 * The Tessera service: the API on `NodeHttpServer`, over the `EventLog` (and, on PostgreSQL, the
 * job queue) in context. Builds requested here run in this process, on the scheduler of core's
 * `Builds`, and stop with the server's scope; the log keeps them resumable.
 */
import { createServer } from "node:http"
import {
  HttpApiBuilder,
  type HttpApp,
  HttpIncomingMessage,
  HttpServer,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Builds, type EventLog, Graph } from "@tessera/core"
import { Cause, Context, Effect, Layer, Metric, Option } from "effect"
import { TesseraApi } from "./api/Api.js"
import { InternalError, InvalidRequest, NotFound, PayloadTooLarge } from "./api/Errors.js"
import { DashboardLive } from "./dashboard/Routes.js"
import { AutomationsLive, StateLive } from "./handlers/Automations.js"
import { BuildsLive } from "./handlers/Builds.js"
import { EventsLive } from "./handlers/Events.js"
import { GuardLive } from "./handlers/Guard.js"
import { GraphLive, HealthLive } from "./handlers/Health.js"
import { PartitionsLive, SourcesLive } from "./handlers/Partitions.js"
import { httpDuration, httpRequests } from "./metrics/ServerMetrics.js"
import { type Config, ServerConfig } from "./ServerConfig.js"
import * as Webhooks from "./webhooks/Webhooks.js"

export interface Options {
  readonly port?: number | undefined
  readonly host?: string | undefined
  readonly token?: string | undefined
  readonly readOnly?: boolean | undefined
  readonly executor?: "local" | "workers" | undefined
  readonly graph?: Graph.Graph | undefined
  /** Signs webhook bodies; default: the token. */
  readonly webhookSecret?: string | undefined
  /** Bytes a request body may have (default 1 MiB). */
  readonly bodyLimit?: number | undefined
}

export const DEFAULT_PORT = 4000
export const DEFAULT_HOST = "127.0.0.1"
export const DEFAULT_BODY_LIMIT = 1024 * 1024

const json = (error: { readonly _tag: string; readonly message: string }, status: number) =>
  HttpServerResponse.unsafeJson({ _tag: error._tag, message: error.message }, { status })

const isTooLarge = (cause: unknown) => cause instanceof Error && cause.message === "maxBytes exceeded"

/**
 * What the API's own error encoding leaves: an unknown route (404), a body that is not JSON (400) or
 * too large (413), and defects (500). Every answer is `{ _tag, message }`; a defect is logged here,
 * with its stack, and never sent. The API's typed errors pass through to its encoder.
 */
const answerEveryError =
  (limit: number) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.catchAllCause(app, (cause) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const failure = Cause.failureOption(cause)
        const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
        if (HttpServerError.isServerError(error) && error._tag === "RouteNotFound") {
          return json(
            new NotFound({ message: `no route ${request.method} ${request.url}: /api/openapi.json lists them` }),
            404
          )
        }
        if (HttpServerError.isServerError(error) && error._tag === "RequestError") {
          if (isTooLarge(error.cause)) return json(tooLarge(limit), 413)
          const why = error.cause instanceof Error ? error.cause.message : (error.description ?? error.reason)
          return json(new InvalidRequest({ message: `the body does not parse as JSON: ${why}` }), 400)
        }
        if (Option.isSome(failure) || Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause)
        yield* Effect.logError(`${request.method} ${request.url} failed`, cause)
        return json(
          new InternalError({ message: `${request.method} ${request.url} failed inside the server; its log says why` }),
          500
        )
      })
    )

const tooLarge = (limit: number) =>
  new PayloadTooLarge({ message: `the body is larger than this server accepts (${limit} bytes)` })

/** Bodies over the limit are refused before they are read when they say their length, and while read otherwise. */
const bodyLimit =
  (limit: number) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const length = Number(request.headers["content-length"] ?? "0")
      if (length > limit) return json(tooLarge(limit), 413)
      return yield* app
    }).pipe(HttpIncomingMessage.withMaxBodySize(Option.some(limit)))

const measured = (app: HttpApp.Default): HttpApp.Default =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const started = performance.now()
    const response = yield* app
    yield* Metric.update(
      Metric.tagged(Metric.tagged(httpRequests, "method", request.method), "status", String(response.status)),
      1
    )
    yield* Metric.update(httpDuration, (performance.now() - started) / 1000)
    return response
  })

const ApiLive = HttpApiBuilder.api(TesseraApi).pipe(
  Layer.provide([BuildsLive, PartitionsLive, SourcesLive, EventsLive, GraphLive, AutomationsLive, HealthLive]),
  Layer.provide(GuardLive)
)

const configOf = (options: Options): Config => ({
  token: Option.fromNullable(options.token),
  readOnly: options.readOnly ?? false,
  executor: options.executor ?? "local",
  graph: Option.fromNullable(options.graph),
  webhookSecret: Option.fromNullable(options.webhookSecret),
  bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT
})

/** The app without a listener: the API, /api/openapi.json and the error answers. */
export const routes = (options: Options) => {
  const config = configOf(options)
  return HttpApiBuilder.serve((app) => measured(bodyLimit(config.bodyLimit)(app))).pipe(
    Layer.provide(HttpApiBuilder.middleware(answerEveryError(config.bodyLimit))),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/api/openapi.json" })),
    Layer.provide(DashboardLive),
    Layer.provide(ApiLive),
    Layer.provide(Builds.layer(Option.getOrElse(config.graph, () => Graph.make([])))),
    Layer.provide(Webhooks.layer),
    Layer.provide(StateLive),
    Layer.provide(Layer.succeed(ServerConfig, config))
  )
}

/** The server listening on `host:port` (port 0 picks a free port), over the store in context. */
export const layer = (
  options: Options
): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError, EventLog.EventLog> =>
  routes(options).pipe(
    Layer.provideMerge(
      NodeHttpServer.layer(createServer, { port: options.port ?? DEFAULT_PORT, host: options.host ?? DEFAULT_HOST })
    )
  )

/** Starts the server for the scope and returns its base URL (`http://host:port`). */
export const start = (options: Options) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(layer(options))
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("the server listens on a TCP port")
    const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname
    return { url: `http://${host}:${address.port}` }
  })
