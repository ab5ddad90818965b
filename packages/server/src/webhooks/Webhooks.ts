/**
 * Webhooks: a build requested with `callbackUrl` gets a signed POST for each of its status changes
 * and each terminal status of its partitions, in seq order, at least once. Delivery follows the log
 * from the subscription's cursor in the store and moves the cursor after each 2xx, so a restarted
 * server resumes where it stopped; a refused or failed POST is retried with backoff, forever (capped
 * at 30 s apart), and the events after it wait, which keeps the order.
 */
import { createHmac } from "node:crypto"
import { type BuildEvent, EventLog, Status } from "@tessera/core"
import { Context, Effect, Layer, Metric, Option, Schedule, Schema, Stream } from "effect"
import * as Bodies from "../api/Bodies.js"
import { InvalidRequest } from "../api/Errors.js"
import { webhookDeliveries } from "../metrics/ServerMetrics.js"
import { ServerConfig } from "../ServerConfig.js"
import { type Subscription, Subscriptions } from "./Subscriptions.js"

/** How long one POST may take before it counts as failed. */
const POST_TIMEOUT_MS = 10_000
const retries = Schedule.exponential("500 millis").pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("30 seconds"))
)

const encodeEvent = Schema.encodeSync(Bodies.LoggedEvent)

const isBuildEnd = ({ event }: BuildEvent.LoggedEvent) =>
  event._tag === "BuildRequestStatusChanged" && Status.isTerminalBuildStatus(event.status)

/** What is delivered: every status of the build, and the partitions' terminal ones. */
const delivered = ({ event }: BuildEvent.LoggedEvent) =>
  event._tag === "BuildRequestStatusChanged" ||
  (event._tag === "PartitionStatusChanged" && (event.status === "AVAILABLE" || event.status === "FAILED"))

/** The body of one delivery: what changed, and the logged event itself. */
export const body = (entry: BuildEvent.LoggedEvent): string => {
  const { event } = entry
  return JSON.stringify({
    type: event._tag === "BuildRequestStatusChanged" ? "build.status" : "partition.status",
    seq: entry.seq,
    buildRequestId: event.buildRequestId,
    ...(event._tag === "PartitionStatusChanged" ? { partitionRef: event.partitionRef } : {}),
    ...("status" in event ? { status: event.status } : {}),
    ...("message" in event && event.message !== undefined ? { message: event.message } : {}),
    timestamp: event.timestamp,
    event: encodeEvent(entry).event
  })
}

/** `sha256=<hex>` of the body under the secret: what `Tessera-Signature` carries. */
export const sign = (secret: string, text: string): string =>
  `sha256=${createHmac("sha256", secret).update(text).digest("hex")}`

export interface WebhooksShape {
  /** Refuses a callback this server cannot deliver: not http(s), no secret to sign with, no store for cursors. */
  readonly check: (url: string) => Effect.Effect<void, InvalidRequest>
  /** Records the subscription and starts delivering (a no-op when it exists). */
  readonly subscribe: (buildRequestId: string, url: string) => Effect.Effect<void, EventLog.StoreError>
}

export class Webhooks extends Context.Tag("@tessera/server/Webhooks")<Webhooks, WebhooksShape>() {}

const make = Effect.gen(function* () {
  const log = yield* EventLog.EventLog
  const config = yield* ServerConfig
  const subscriptions = yield* Effect.serviceOption(Subscriptions)
  const scope = yield* Effect.scope
  const secret = Option.orElse(config.webhookSecret, () => config.token)
  const running = new Set<string>()

  const post = (subscription: Subscription, entry: BuildEvent.LoggedEvent, key: string) =>
    Effect.tryPromise({
      try: async (signal) => {
        const text = body(entry)
        const response = await fetch(subscription.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "tessera-webhooks",
            "tessera-signature": sign(key, text),
            "tessera-delivery": entry.event.eventId,
            "tessera-seq": String(entry.seq)
          },
          body: text,
          signal: AbortSignal.any([signal, AbortSignal.timeout(POST_TIMEOUT_MS)])
        })
        await response.arrayBuffer()
        if (!response.ok) throw new Error(`${subscription.url} answered ${response.status}`)
      },
      catch: (error) => (error instanceof Error ? error.message : String(error))
    }).pipe(
      Effect.tapBoth({
        onFailure: (reason) =>
          Effect.zipRight(
            Metric.increment(Metric.tagged(webhookDeliveries, "outcome", "failed")),
            Effect.logWarning(
              `webhook for ${subscription.buildRequestId} at seq ${entry.seq} failed: ${reason}; retrying`
            )
          ),
        onSuccess: () => Metric.increment(Metric.tagged(webhookDeliveries, "outcome", "delivered"))
      }),
      Effect.retry(retries)
    )

  const deliver = (store: typeof Subscriptions.Service, subscription: Subscription, key: string) => {
    let cursor = subscription.cursor
    const once = () =>
      log
        .tail(
          {
            buildRequestIds: [subscription.buildRequestId],
            kinds: ["BuildRequestStatusChanged", "PartitionStatusChanged"]
          },
          { after: cursor }
        )
        .pipe(
          Stream.filter(delivered),
          Stream.takeUntil(isBuildEnd),
          Stream.runForEach((entry) =>
            Effect.gen(function* () {
              yield* post(subscription, entry, key)
              yield* store.advance(subscription, entry.seq, isBuildEnd(entry))
              cursor = entry.seq
            })
          )
        )
    // A store that fails under the tail is waited out: delivery resumes from the last cursor.
    return Effect.suspend(once).pipe(
      Effect.tapError((error) =>
        Effect.logWarning(
          `webhook delivery for ${subscription.buildRequestId} stopped: ${typeof error === "string" ? error : error.message}`
        )
      ),
      Effect.retry(Schedule.spaced("1 second")),
      Effect.ensuring(Effect.sync(() => running.delete(`${subscription.buildRequestId}\u0000${subscription.url}`)))
    )
  }

  const start = (store: typeof Subscriptions.Service, subscription: Subscription, key: string) =>
    Effect.suspend(() => {
      const id = `${subscription.buildRequestId}\u0000${subscription.url}`
      if (running.has(id)) return Effect.void
      running.add(id)
      return Effect.asVoid(Effect.forkIn(deliver(store, subscription, key), scope))
    })

  if (Option.isSome(subscriptions) && Option.isSome(secret)) {
    const pending = yield* Effect.orElseSucceed(subscriptions.value.pending, () => [])
    for (const subscription of pending) yield* start(subscriptions.value, subscription, secret.value)
  }

  const check: WebhooksShape["check"] = (url) =>
    Effect.gen(function* () {
      let parsed: URL | undefined
      try {
        parsed = new URL(url)
      } catch {
        parsed = undefined
      }
      if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
        return yield* new InvalidRequest({
          message: `callbackUrl ${JSON.stringify(url)} is not an http:// or https:// URL`
        })
      }
      if (Option.isNone(secret)) {
        return yield* new InvalidRequest({
          message: "this server has no secret to sign webhooks with: start it with --webhook-secret (or --token)"
        })
      }
      if (Option.isNone(subscriptions)) {
        return yield* new InvalidRequest({
          message: `the ${log.store} store keeps no webhook cursors here: use a SQLite or PostgreSQL store for callbackUrl`
        })
      }
    })

  const subscribe: WebhooksShape["subscribe"] = (buildRequestId, url) =>
    Effect.gen(function* () {
      if (Option.isNone(subscriptions) || Option.isNone(secret)) return
      yield* subscriptions.value.add(buildRequestId, url)
      const found = (yield* subscriptions.value.pending).find(
        (row) => row.buildRequestId === buildRequestId && row.url === url
      )
      if (found !== undefined) yield* start(subscriptions.value, found, secret.value)
    })

  return { check, subscribe } satisfies WebhooksShape
})

/** Delivery for the server's scope; pending subscriptions resume when it starts. */
export const layer: Layer.Layer<Webhooks, never, EventLog.EventLog | ServerConfig> = Layer.scoped(Webhooks, make)
