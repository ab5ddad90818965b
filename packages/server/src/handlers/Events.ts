/**
 * /api/v1/events: the log one page at a time, and live as server-sent events, with the filters of
 * `tessera events`.
 */
import { HttpApiBuilder } from "@effect/platform"
import { EventFilter, EventLog } from "@tessera/core"
import { Effect } from "effect"
import { TesseraApi } from "../api/Api.js"
import type * as Bodies from "../api/Bodies.js"
import * as EventStream from "../sse/EventStream.js"
import { http } from "./Failures.js"

export const filterOf = (query: Bodies.EventsQuery): EventFilter.EventFilter => ({
  ...(query.build === undefined ? {} : { buildRequestIds: [query.build] }),
  ...(query.ref === undefined ? {} : EventFilter.aboutRef(query.ref)),
  ...(query.kind === undefined ? {} : { kinds: [query.kind] })
})

export const EventsLive = HttpApiBuilder.group(TesseraApi, "events", (handlers) =>
  handlers
    .handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const page = yield* http(
          log.read(filterOf(urlParams), { after: urlParams.after ?? 0, limit: urlParams.limit ?? 100 })
        )
        return { events: page.events, ...(page.next === undefined ? {} : { next: page.next }) }
      })
    )
    .handle("stream", ({ urlParams, headers }) =>
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        // A reconnecting EventSource resumes after its last event; a new one follows from `after`, else from now.
        const after = headers["last-event-id"] ?? urlParams.after ?? (yield* http(log.head))
        return yield* EventStream.response({ filter: filterOf(urlParams), after })
      })
    )
)
