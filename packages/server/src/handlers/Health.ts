/**
 * /api/v1/graph, /healthz, /readyz and /metrics.
 */
import { HttpApiBuilder } from "@effect/platform"
import { EventLog, Graph, GraphOutline } from "@tessera/core"
import { Effect, Option } from "effect"
import { TesseraApi } from "../api/Api.js"
import { StoreUnavailable } from "../api/Errors.js"
import * as Prometheus from "../metrics/Prometheus.js"
import { ServerConfig } from "../ServerConfig.js"

/** How long /readyz waits for the store before it says the server is not ready. */
const READY_TIMEOUT = "2 seconds"

export const GraphLive = HttpApiBuilder.group(TesseraApi, "graph", (handlers) =>
  handlers.handle("get", () =>
    Effect.map(ServerConfig, (config) => {
      const jobs = GraphOutline.describe(Option.getOrElse(config.graph, () => Graph.make([])))
      const edges = jobs.flatMap((job) => [
        ...job.upstream.map((from) => ({ from, to: job.name, kind: "job" as const })),
        ...job.sources.map((from) => ({ from, to: job.name, kind: "source" as const }))
      ])
      return { jobs, edges }
    })
  )
)

export const HealthLive = HttpApiBuilder.group(TesseraApi, "health", (handlers) =>
  handlers
    .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
    .handle("readyz", () =>
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const head = yield* log.head.pipe(
          Effect.timeoutFail({
            duration: READY_TIMEOUT,
            onTimeout: () =>
              new StoreUnavailable({ message: `the ${log.store} store did not answer in ${READY_TIMEOUT}` })
          }),
          Effect.mapError((error) =>
            error._tag === "StoreUnavailable" ? error : new StoreUnavailable({ message: error.message })
          )
        )
        return { status: "ready" as const, store: log.store, head }
      })
    )
    .handle("metrics", () => Prometheus.text)
)
