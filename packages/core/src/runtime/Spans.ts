/**
 * Spans of the operations that run once per append, read or job: recorded whenever a tracer is
 * installed (OpenTelemetry, the CLI's OTLP exporter, a test's own), skipped under Effect's built-in
 * tracer, whose spans reach no exporter.
 */
import { Effect, type Tracer } from "effect"

/** The tracer every fiber has until a program installs one: its spans are kept nowhere. */
const builtIn = Effect.runSync(Effect.tracer)

/**
 * `self` in a span named `name` when the fiber's tracer records spans. A span costs the runtime
 * about 36 steps, a quarter of a no-op job's effects, so under the built-in tracer `self` runs as it
 * is. The call site is always the same line of Tessera, so it is never captured (an `Error` and its
 * stack on every call, telling a trace nothing).
 */
export const hot =
  (name: string, options?: Omit<Tracer.SpanOptions, "captureStackTrace">) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.tracerWith((tracer) =>
      tracer === builtIn ? self : Effect.withSpan(self, name, { ...options, captureStackTrace: false })
    )
