import { describe, expect, it } from "@effect/vitest"
import { Spans } from "@tessera/core"
import { Effect, Option, Tracer } from "effect"

/** The built-in tracer's spans, each name also written down: a tracer a program installed. */
const recording = () => {
  const builtIn = Effect.runSync(Effect.tracer)
  const names: Array<string> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      names.push(name)
      return builtIn.span(name, parent, context, links, startTime, kind, options)
    },
    context: builtIn.context
  })
  return { tracer, names }
}

const currentSpanName = Effect.map(
  Effect.option(Effect.currentSpan),
  Option.map((span) => span.name)
)

describe("Spans.hot", () => {
  it.effect("is a span of its own, with its attributes, under a tracer a program installed", () =>
    Effect.gen(function* () {
      const { tracer, names } = recording()
      const [inside, attributes] = yield* Effect.all([
        currentSpanName,
        Effect.map(Effect.currentSpan, (span) => Object.fromEntries(span.attributes))
      ]).pipe(
        Spans.hot("EventLog.append", { attributes: { events: 3 } }),
        Effect.withSpan("outer"),
        Effect.withTracer(tracer)
      )
      expect(inside).toEqual(Option.some("EventLog.append"))
      expect(attributes).toEqual({ events: 3 })
      expect(names).toEqual(["outer", "EventLog.append"])
    })
  )

  it.effect(
    "under Effect's built-in tracer, which exports nowhere, runs the effect as it is: same result, no span",
    () =>
      Effect.gen(function* () {
        const inside = yield* currentSpanName.pipe(Spans.hot("EventLog.append"), Effect.withSpan("outer"))
        expect(inside).toEqual(Option.some("outer"))
        expect(yield* Effect.either(Effect.fail("refused").pipe(Spans.hot("EventLog.append")))).toEqual(
          yield* Effect.either(Effect.fail("refused"))
        )
      })
  )
})
