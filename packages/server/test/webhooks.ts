/**
 * Webhooks on every store: signed POSTs of a build's status changes, in seq order, retried until
 * the receiver answers 2xx, and resumed from the cursor in the store by a server started after
 * the one that was delivering stopped.
 */
import { createHmac } from "node:crypto"
import * as http from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { call, poll, registerRaw, serve, type Store } from "./Harness.js"
import { until } from "./api.js"

interface Delivery {
  readonly seq: number
  readonly status: number
  readonly body: string
  readonly signature: string | undefined
}

/** A receiver on a free port that answers each POST with `answer(n)` (n counts from 0) and records it. */
const receiver = (answer: (n: number) => number) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ url: string; deliveries: Array<Delivery>; server: http.Server }>((resolve) => {
          const deliveries: Array<Delivery> = []
          const server = http.createServer((request, response) => {
            let body = ""
            request.on("data", (chunk: Buffer) => (body += chunk.toString()))
            request.on("end", () => {
              const status = answer(deliveries.length)
              deliveries.push({
                seq: Number(request.headers["tessera-seq"]),
                status,
                body,
                signature: request.headers["tessera-signature"] as string | undefined
              })
              response.writeHead(status).end()
            })
          })
          server.listen(0, "127.0.0.1", () => {
            const address = server.address() as { port: number }
            resolve({ url: `http://127.0.0.1:${address.port}/hook`, deliveries, server })
          })
        })
    ),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

/** The seqs a build's webhooks carry, read from the log: its statuses and its partitions' terminal ones. */
const expectedSeqs = (url: string, id: string) =>
  Effect.map(call(url, "GET", `/api/v1/events?build=${id}&limit=1000`), (answer) =>
    (answer.body as { events: Array<{ seq: number; event: { _tag: string; status?: string } }> }).events
      .filter(
        ({ event }) =>
          event._tag === "BuildRequestStatusChanged" ||
          (event._tag === "PartitionStatusChanged" && (event.status === "AVAILABLE" || event.status === "FAILED"))
      )
      .map(({ seq }) => seq)
  )

const accepted = (deliveries: ReadonlyArray<Delivery>) => deliveries.filter((d) => d.status === 200).map((d) => d.seq)

const untilDelivered = (deliveries: ReadonlyArray<Delivery>, count: number) =>
  poll(
    Effect.sync(() => accepted(deliveries).length),
    (n) => n >= count
  )

const SECRET = "hook-secret"

export const scenarios = (name: string, open: Effect.Effect<Store, never, Scope.Scope>) =>
  describe(`webhooks on ${name}`, () => {
    it.scopedLive(
      "a receiver that fails and then recovers gets every status change once accepted, in seq order, signed",
      () =>
        Effect.gen(function* () {
          const store = yield* open
          yield* registerRaw(store, ["2026-11-01"])
          // The first three POSTs fail: the first event is retried until the receiver recovers.
          const hook = yield* receiver((n) => (n < 3 ? 500 : 200))
          const { url } = yield* serve(store, { webhookSecret: SECRET })
          const created = yield* call(url, "POST", "/api/v1/builds", {
            refs: ["report/date=2026-11-01"],
            id: "hooked",
            callbackUrl: hook.url
          })
          expect(created.status).toBe(202)
          yield* until(url, "hooked", (body) => body.build.status === "COMPLETED")
          const expected = yield* expectedSeqs(url, "hooked")
          yield* untilDelivered(hook.deliveries, expected.length)
          expect(hook.deliveries.slice(0, 4).map((d) => d.seq)).toEqual(Array(4).fill(expected[0]))
          expect(accepted(hook.deliveries)).toEqual(expected)
          for (const delivery of hook.deliveries) {
            expect(delivery.signature).toBe(
              `sha256=${createHmac("sha256", SECRET).update(delivery.body).digest("hex")}`
            )
          }
          const bodies = hook.deliveries.filter((d) => d.status === 200).map((d) => JSON.parse(d.body))
          expect(bodies.at(-1)).toMatchObject({ type: "build.status", buildRequestId: "hooked", status: "COMPLETED" })
          expect(bodies).toContainEqual(
            expect.objectContaining({
              type: "partition.status",
              partitionRef: "report/date=2026-11-01",
              status: "AVAILABLE"
            })
          )
          const refused = yield* call(url, "POST", "/api/v1/builds", {
            refs: ["report/date=2026-11-01"],
            callbackUrl: "ftp://x"
          })
          expect(refused.body).toMatchObject({ _tag: "InvalidRequest", message: expect.stringContaining("http://") })
        })
    )

    it.scopedLive(
      "a server started after the delivering one stopped resumes from the cursor: nothing skipped, nothing accepted twice",
      () =>
        Effect.gen(function* () {
          const store = yield* open
          yield* registerRaw(store, ["2026-11-02"])
          let healthy = false
          // Two deliveries are accepted, then the receiver fails until it is healthy again.
          const hook = yield* receiver((n) => (n < 2 || healthy ? 200 : 503))
          const first = yield* Scope.make()
          const a = yield* serve(store, { webhookSecret: SECRET }).pipe(Scope.extend(first))
          yield* call(a.url, "POST", "/api/v1/builds", {
            refs: ["report/date=2026-11-02"],
            id: "restarted",
            callbackUrl: hook.url
          })
          yield* until(a.url, "restarted", (body) => body.build.status === "COMPLETED")
          yield* untilDelivered(hook.deliveries, 2)
          // The third delivery is failing when the server stops.
          yield* poll(
            Effect.sync(() => hook.deliveries.length),
            (n) => n >= 3
          )
          yield* Scope.close(first, Exit.void)
          healthy = true
          const b = yield* serve(store, { webhookSecret: SECRET })
          const expected = yield* expectedSeqs(b.url, "restarted")
          yield* untilDelivered(hook.deliveries, expected.length)
          expect(accepted(hook.deliveries)).toEqual(expected)
        })
    )
  })
