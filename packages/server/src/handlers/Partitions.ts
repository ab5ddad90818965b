/**
 * /api/v1/partitions and /api/v1/sources: the catalog, one partition, what was built from it,
 * invalidation and source registration, through core's `Builds` like `tessera status|invalidate|register`.
 */
import { HttpApiBuilder } from "@effect/platform"
import { Builds, EventLog } from "@tessera/core"
import { Effect } from "effect"
import { TesseraApi } from "../api/Api.js"
import { ServerConfig } from "../ServerConfig.js"
import * as PartitionView from "../views/PartitionView.js"
import { http } from "./Failures.js"

export const PartitionsLive = HttpApiBuilder.group(TesseraApi, "partitions", (handlers) =>
  handlers
    .handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const page = yield* http(
          log.partitions({
            prefix: urlParams.prefix,
            ...(urlParams.status === undefined ? {} : { statuses: [urlParams.status] }),
            after: urlParams.after,
            limit: urlParams.limit ?? 100
          })
        )
        return { partitions: page.items, ...(page.next === undefined ? {} : { next: page.next }) }
      })
    )
    .handle("get", ({ path }) =>
      Effect.flatMap(ServerConfig, (config) => http(PartitionView.read(path.ref, config.graph)))
    )
    .handle("dependents", ({ path }) => http(PartitionView.dependents(path.ref)))
    .handle("invalidate", ({ path, payload }) =>
      Effect.gen(function* () {
        const builds = yield* Builds.Builds
        return { invalidated: yield* http(builds.invalidate(path.ref, payload.reason)) }
      })
    )
)

export const SourcesLive = HttpApiBuilder.group(TesseraApi, "sources", (handlers) =>
  handlers.handle("register", ({ payload }) =>
    Effect.gen(function* () {
      const builds = yield* Builds.Builds
      const { registered } = yield* http(builds.registerSource(payload.ref, payload.manifest))
      return { ref: payload.ref, registered }
    })
  )
)
