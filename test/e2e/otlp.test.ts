/**
 * OpenTelemetry: `tessera build` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP receiver in
 * this test process exports the build as one trace whose spans link up to the command's root span.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { registerRaw, start, tempDir, tessera } from "./cli-process.js"

interface Span {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }>
}

interface Export {
  readonly resourceSpans: ReadonlyArray<{
    readonly resource: {
      readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }>
    }
    readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<Span> }>
  }>
}

/** An OTLP/HTTP JSON receiver on a free port, keeping what is posted to /v1/traces and /v1/metrics; closed with the scope. */
const receiver = Effect.acquireRelease(
  Effect.async<{
    readonly url: string
    readonly traces: Array<Export>
    readonly metrics: Array<string>
    readonly server: http.Server
  }>((resume) => {
    const traces: Array<Export> = []
    const metrics: Array<string> = []
    const server = http.createServer((request, response) => {
      let body = ""
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8")
      })
      request.on("end", () => {
        if (request.url === "/v1/traces") traces.push(JSON.parse(body) as Export)
        if (request.url === "/v1/metrics") metrics.push(body)
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      resume(Effect.succeed({ url, traces, metrics, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

const attribute = (span: Span, key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue

const spansOf = (traces: ReadonlyArray<Export>) =>
  traces.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)))

/** The names of `span`'s ancestors, nearest first, as far as the exported spans reach. */
const ancestorsIn = (spans: ReadonlyArray<Span>) => {
  const byId = new Map(spans.map((span) => [span.spanId, span]))
  return (span: Span): Array<string> => {
    const names: Array<string> = []
    for (let at = span.parentSpanId; at !== undefined && byId.has(at); at = byId.get(at)?.parentSpanId)
      names.push(byId.get(at)!.name)
    return names
  }
}

/** Retries `effect` every 100 ms until it gives a value (or the test's timeout ends it). */
const eventually = <A>(effect: Effect.Effect<A | undefined>): Effect.Effect<A> =>
  Effect.flatMap(effect, (value) =>
    value === undefined ? Effect.zipRight(Effect.sleep("100 millis"), eventually(effect)) : Effect.succeed(value)
  )

describe("OpenTelemetry", () => {
  it.scopedLive(
    "a build is one trace: the command's span, Builds.request, Builds.execute, the store's appends and each job execution under it; metrics beside",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* registerRaw(dir, [1])
        const otlp = yield* receiver
        const built = yield* tessera(dir, ["build", "daily/date=1", "--json"], {
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
          OTEL_SERVICE_NAME: "pipeline-test"
        })
        expect(built.code).toBe(0)
        const buildRequestId = JSON.parse(built.stdout).buildRequestId as string

        const spans = spansOf(otlp.traces)
        const service = otlp.traces[0]?.resourceSpans[0]?.resource.attributes.find((a) => a.key === "service.name")
        expect(service?.value.stringValue).toBe("pipeline-test")
        const byId = new Map(spans.map((span) => [span.spanId, span]))
        const roots = spans.filter((span) => span.parentSpanId === undefined || !byId.has(span.parentSpanId))
        expect(roots.map((span) => span.name)).toEqual(["tessera.run"])
        const root = roots[0]!
        expect(new Set(spans.map((span) => span.traceId))).toEqual(new Set([root.traceId]))

        const ancestors = ancestorsIn(spans)
        const execute = spans.find((span) => span.name === "Builds.execute")!
        expect(attribute(execute, "buildRequestId")).toBe(buildRequestId)
        expect(ancestors(execute)).toEqual(["Builds.request", "tessera.run"])
        const appends = spans.filter(
          (span) => span.name === "SqliteEventLog.append" && ancestors(span).includes("Builds.execute")
        )
        expect(appends.length).toBeGreaterThan(0)
        // Each job execution is a span under the build, saying which run, job, version, attempt and store.
        const jobs = spans.filter((span) => span.name === "tessera.job")
        expect(jobs.length).toBeGreaterThan(0)
        for (const job of jobs) {
          expect(ancestors(job)).toContain("Builds.execute")
          expect(attribute(job, "buildRequestId")).toBe(buildRequestId)
          expect(attribute(job, "store")).toBe("sqlite")
          expect(attribute(job, "job")).toBeDefined()
          expect(attribute(job, "version")).toBeDefined()
          expect(attribute(job, "refs")).toBeDefined()
          expect(job.attributes.some((a) => a.key === "attempt")).toBe(true)
        }
        // The scheduler's metrics go out beside the traces.
        expect(otlp.metrics.join("\n")).toContain("tessera_job_executions")
      })
  )

  it.scopedLive("tessera serve exports too: a build requested over HTTP is traced from the request to its jobs", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* registerRaw(dir, [1])
      const otlp = yield* receiver
      const server = yield* start(dir, ["serve", "--port", "0"], {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_SERVICE_NAME: "pipeline-server"
      })
      const url = yield* eventually(Effect.sync(() => /at (http:\/\/\S+) /.exec(server.output())?.[1]))
      const created = yield* Effect.promise(() =>
        fetch(`${url}/api/v1/builds`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ refs: ["daily/date=1"], id: "traced" })
        })
      )
      expect(created.status).toBe(202)
      yield* eventually(
        Effect.promise(async () => {
          const body = (await (await fetch(`${url}/api/v1/builds/traced`)).json()) as { build: { status: string } }
          return body.build.status === "COMPLETED" ? body : undefined
        })
      )
      server.child.kill("SIGTERM")
      expect((yield* server.exit).code).toBe(130)

      const spans = spansOf(otlp.traces)
      const service = otlp.traces[0]?.resourceSpans[0]?.resource.attributes.find((a) => a.key === "service.name")
      expect(service?.value.stringValue).toBe("pipeline-server")
      const ancestors = ancestorsIn(spans)
      const request = spans.find((span) => span.name === "Builds.request")!
      expect(ancestors(request).some((name) => name.includes("POST"))).toBe(true)
      const jobs = spans.filter((span) => span.name === "tessera.job")
      expect(jobs.map((job) => attribute(job, "job")).sort()).toEqual(["clean", "daily"])
      for (const job of jobs) {
        expect(attribute(job, "buildRequestId")).toBe("traced")
        expect(ancestors(job)).toContain("Builds.request")
      }
      expect(otlp.metrics.join("\n")).toContain("tessera_job_executions")
    })
  )
})
