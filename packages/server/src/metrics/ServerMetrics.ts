/**
 * The server's own metrics, exported at /metrics with every other Effect `Metric` of the process.
 */
import { Metric, MetricBoundaries } from "effect"

export const httpRequests = Metric.counter("tessera_http_requests_total", {
  description: "HTTP requests answered, by method and status",
  incremental: true
})

export const httpDuration = Metric.histogram(
  "tessera_http_request_duration_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 16 }),
  "Time to answer an HTTP request (to its headers, for streams)"
)

export const sseClients = Metric.gauge("tessera_sse_clients", { description: "Server-sent event streams open now" })

export const buildsRequested = Metric.counter("tessera_builds_requested_total", {
  description: "Builds requested through the API (a repeated id counts once)",
  incremental: true
})

export const webhookDeliveries = Metric.counter("tessera_webhook_deliveries_total", {
  description: "Webhook POSTs attempted, by outcome",
  incremental: true
})
