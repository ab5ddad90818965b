/**
 * OpenTelemetry export, on only when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` is set: Effect's own
 * spans (the command, `Builds.request`, `Builds.execute`, each store read and append) and metrics go
 * over OTLP/HTTP as JSON to `<endpoint>/v1/traces` and `/v1/metrics`, named by `OTEL_SERVICE_NAME`
 * (default `tessera`). `@effect/opentelemetry`'s `Otlp` exporter needs no OpenTelemetry SDK at run
 * time, only an HTTP client, and is imported only when the variable is set, so a process without it
 * loads nothing more and records spans nowhere.
 */
import { Config, Effect, Layer, Option } from "effect"
import { VERSION } from "../Version.js"

export const layer: Layer.Layer<never> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const endpoint = yield* Config.option(Config.nonEmptyString("OTEL_EXPORTER_OTLP_ENDPOINT"))
    if (Option.isNone(endpoint)) return Layer.empty
    const serviceName = yield* Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("tessera"))
    const [{ layerJson }, { layer: fetch }] = yield* Effect.promise(() =>
      Promise.all([import("@effect/opentelemetry/Otlp"), import("@effect/platform/FetchHttpClient")])
    )
    return layerJson({
      baseUrl: endpoint.value,
      resource: { serviceName, serviceVersion: VERSION },
      // Every 5 s, OpenTelemetry's own default, and what is left when the command ends is flushed then.
      // The exporter interrupts a periodic export still in flight at shutdown and loses its spans, so
      // a short command must not be caught mid-export as it ends: one shorter than 5 s sends only the flush.
      tracerExportInterval: "5 seconds",
      shutdownTimeout: "3 seconds"
    }).pipe(Layer.provide(fetch))
  }).pipe(Effect.orDie)
)
