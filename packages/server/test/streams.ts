/**
 * Live streams on every store: server-sent events whose ids are seqs, resumed from Last-Event-ID
 * across dropped connections while events are appended, without a gap or a repeat.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { call, registerRaw, serve, type Store } from "./Harness.js"
import * as Sse from "./Sse.js"

export const scenarios = (name: string, open: Effect.Effect<Store, never, import("effect").Scope.Scope>) =>
  describe(`event streams on ${name}`, () => {
    it.scopedLive(
      "a client that drops and reconnects with Last-Event-ID while events are appended gets every seq exactly once",
      () =>
        Effect.gen(function* () {
          const store = yield* open
          const { url } = yield* serve(store)
          const total = 120
          // Appends over HTTP from another fiber, while the client connects and reconnects.
          const writer = yield* Effect.forEach(
            Array.from({ length: total }, (_, i) => i),
            (i) => call(url, "POST", "/api/v1/sources", { ref: `raw/date=${i}`, manifest: { checksum: `c${i}` } }),
            { concurrency: 3, discard: true }
          ).pipe(Effect.fork)
          const seen: Array<number> = []
          let last: number | undefined
          let connections = 0
          while (seen.length < total) {
            // Each connection takes a few events and is cut; the next resumes after the last one received.
            const frames = yield* Sse.read(`${url}/api/v1/events/stream?after=0`, {
              lastEventId: last,
              enough: (frames) => frames.length >= 7 || seen.length + frames.length >= total
            })
            connections++
            for (const frame of frames) seen.push(frame.id)
            last = seen.at(-1)
          }
          yield* Fiber.join(writer)
          expect(connections).toBeGreaterThan(10)
          expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1))
          const head = ((yield* call(url, "GET", "/readyz")).body as { head: number }).head
          expect(head).toBe(total)
        })
    )

    it.scopedLive(
      "a build's stream carries its events and ends with its terminal status; its data is the logged event",
      () =>
        Effect.gen(function* () {
          const store = yield* open
          yield* registerRaw(store, ["2026-11-01"])
          const { url } = yield* serve(store)
          yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=2026-11-01"], id: "streamed" })
          const frames = yield* Sse.read(`${url}/api/v1/builds/streamed/events/stream`, { enough: () => false })
          expect(frames.at(-1)).toMatchObject({
            event: "BuildRequestStatusChanged",
            data: { event: { _tag: "BuildRequestStatusChanged", status: "COMPLETED", buildRequestId: "streamed" } }
          })
          expect(
            frames.every(
              (frame) => (frame.data as { event: { buildRequestId: string } }).event.buildRequestId === "streamed"
            )
          ).toBe(true)
          expect(frames.map((frame) => frame.id)).toEqual([...frames.map((frame) => frame.id)].sort((a, b) => a - b))
          // Resuming after its first event gives the rest, nothing before.
          const rest = yield* Sse.read(`${url}/api/v1/builds/streamed/events/stream`, {
            lastEventId: frames[0]!.id,
            enough: () => false
          })
          expect(rest.map((frame) => frame.id)).toEqual(frames.slice(1).map((frame) => frame.id))
          const missing = yield* call(url, "GET", "/api/v1/builds/none/events/stream")
          expect(missing.status).toBe(404)
          const metrics = (yield* call(url, "GET", "/metrics")).body as string
          expect(metrics).toContain("# TYPE tessera_sse_clients gauge")
          expect(metrics).toMatch(/tessera_http_request_duration_seconds_bucket\{le="\+Inf"\} \d+/)
        })
    )
  })
