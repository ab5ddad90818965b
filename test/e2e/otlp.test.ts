/**
 * OpenTelemetry: `tessera build` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP receiver in
 * this test process exports the build as one trace whose spans link up to the command's root span.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { registerRaw, tempDir, tessera } from "./cli-process.js"

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

        const spans = otlp.traces.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)))
        const service = otlp.traces[0]?.resourceSpans[0]?.resource.attributes.find((a) => a.key === "service.name")
        expect(service?.value.stringValue).toBe("pipeline-test")
        const byId = new Map(spans.map((span) => [span.spanId, span]))
        const roots = spans.filter((span) => span.parentSpanId === undefined || !byId.has(span.parentSpanId))
        expect(roots.map((span) => span.name)).toEqual(["tessera.run"])
        const root = roots[0]!
        expect(new Set(spans.map((span) => span.traceId))).toEqual(new Set([root.traceId]))

        const ancestors = (span: Span): Array<string> => {
          const names: Array<string> = []
          for (let at = span.parentSpanId; at !== undefined; at = byId.get(at)?.parentSpanId)
            names.push(byId.get(at)!.name)
          return names
        }
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
})
