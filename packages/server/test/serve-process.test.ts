/**
 * `tessera serve` as users run it: a real process on a SQLite file, found at the URL it prints,
 * building what it is asked over HTTP, and stopped by SIGTERM like every tessera command (exit 130).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { call, poll, registerRaw, sqlite, tessera } from "./Harness.js"
import { until } from "./api.js"

const urlIn = (output: () => string) =>
  poll(
    Effect.sync(() => /at (http:\/\/\S+) /.exec(output())?.[1]),
    (url): url is string => url !== undefined
  )

describe("tessera serve", () => {
  it.scopedLive(
    "serves the store at the URL it prints, runs builds requested over HTTP, and exits 130 on SIGTERM",
    () =>
      Effect.gen(function* () {
        const store = yield* sqlite
        yield* registerRaw(store, ["2026-11-01"])
        const server = yield* tessera(store, ["serve", "--port", "0", "--token", "t0k"])
        const url = yield* urlIn(server.output)
        expect((yield* call(url, "GET", "/healthz")).body).toEqual({ status: "ok" })
        const refused = yield* call(url, "POST", "/api/v1/builds", { refs: ["report/date=2026-11-01"] })
        expect(refused.status).toBe(401)
        const created = yield* call(
          url,
          "POST",
          "/api/v1/builds",
          { refs: ["report/date=2026-11-01"], id: "from-curl" },
          { authorization: "Bearer t0k" }
        )
        expect(created.status).toBe(202)
        const done = yield* until(url, "from-curl", (body) => body.build.status === "COMPLETED")
        expect(done.partitions[0]).toMatchObject({ ref: "report/date=2026-11-01", status: "AVAILABLE" })
        server.child.kill("SIGTERM")
        const exit = yield* server.exit
        expect(exit.code, exit.output).toBe(130)
      })
  )

  it.scopedLive("a port already taken is exit 2 naming the address", () =>
    Effect.gen(function* () {
      const store = yield* sqlite
      const first = yield* tessera(store, ["serve", "--port", "0"])
      const url = yield* urlIn(first.output)
      const port = new URL(url).port
      const second = yield* tessera(store, ["serve", "--port", port])
      const exit = yield* second.exit
      expect(exit.code).toBe(2)
      expect(exit.output).toContain(`cannot listen on 127.0.0.1:${port}`)
    })
  )
})
