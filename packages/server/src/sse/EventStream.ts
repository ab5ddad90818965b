/**
 * Server-sent events from the log. Each event's `id` is its seq, so a reconnecting EventSource's
 * `Last-Event-ID` is a cursor: the stream resumes with the next seq, and because the log's tail reads
 * by cursor (wake-ups only make it early) nothing appended meanwhile is missed or sent twice.
 */
import { HttpServerResponse } from "@effect/platform"
import { type BuildEvent, type EventFilter, EventLog } from "@tessera/core"
import { Effect, Metric, Schema, Stream } from "effect"
import * as Bodies from "../api/Bodies.js"
import { sseClients } from "../metrics/ServerMetrics.js"

const encodeEvent = Schema.encodeSync(Bodies.LoggedEvent)

/** One event in the text/event-stream format. */
export const frame = (entry: BuildEvent.LoggedEvent): string =>
  `id: ${entry.seq}\nevent: ${entry.event._tag}\ndata: ${JSON.stringify(encodeEvent(entry))}\n\n`

/** A comment line every so often keeps proxies from closing an idle stream. */
const KEEP_ALIVE = "15 seconds"
/** How long a disconnected EventSource waits before it reconnects. */
const RETRY_MS = 1000

export interface StreamOptions {
  readonly filter: EventFilter.EventFilter
  /** The seq after which to start. */
  readonly after: number
  /** Ends the stream after the first event this holds for (a build's terminal status). */
  readonly until?: ((entry: BuildEvent.LoggedEvent) => boolean) | undefined
}

export const response = (options: StreamOptions) =>
  Effect.map(EventLog.EventLog, (log) => {
    const tail = log.tail(options.filter, { after: options.after })
    const events = (options.until === undefined ? tail : tail.pipe(Stream.takeUntil(options.until))).pipe(
      Stream.map(frame)
    )
    const keepAlive = Stream.tick(KEEP_ALIVE).pipe(Stream.map(() => ": keep-alive\n\n"))
    const body = Stream.make(`retry: ${RETRY_MS}\n: connected after seq ${options.after}\n\n`).pipe(
      Stream.concat(Stream.merge(events, keepAlive, { haltStrategy: "left" })),
      Stream.encodeText,
      (stream) =>
        Stream.unwrapScoped(
          Effect.acquireRelease(Metric.incrementBy(sseClients, 1), () => Metric.incrementBy(sseClients, -1)).pipe(
            Effect.as(stream)
          )
        )
    )
    return HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    })
  })
