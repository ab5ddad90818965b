/**
 * In-memory store: append throughput (single events and batches) and reducer throughput, beside a
 * plain array push of the same events, the floor any store is measured against.
 */
import { EventFilter, InMemoryEventLog, Projection, Reducer } from "@tessera/core"
import { Effect, Either, Stream } from "effect"
import { type Benchmark, chunks, perSecond, report, timed } from "./src/report.js"
import { history } from "./src/workload.js"

const bench: Benchmark = (args) =>
  Effect.gen(function* () {
    const n = Number(args[0] ?? 100_000)
    const events = history(n)

    const [, pushMs] = yield* timed(
      Effect.sync(() => {
        const raw: Array<unknown> = []
        for (const event of events) raw.push({ seq: raw.length + 1, event })
      })
    )
    const single = yield* InMemoryEventLog.make
    const singles = Math.min(n, 20_000)
    const [, singleMs] = yield* timed(
      Effect.forEach(events.slice(0, singles), (event) => single.append([event]), { discard: true })
    )
    const batched = yield* InMemoryEventLog.make
    const [, batchMs] = yield* timed(
      Effect.forEach(chunks(events, 1000), (chunk) => batched.append(chunk), { discard: true })
    )
    const logged = yield* Stream.runCollect(batched.stream(EventFilter.all))
    const [, reduceMs] = yield* timed(Effect.sync(() => Either.getOrThrow(Projection.replay(logged))))
    const [, reduceBaselineMs] = yield* timed(
      Effect.sync(() => {
        const state = Reducer.emptyState()
        for (const entry of logged) state.partitions.set(String(entry.seq), undefined as never)
      })
    )
    yield* report("memory", [
      {
        id: "memory.append1",
        case: `append 1 event x ${singles}`,
        unit: "events/s",
        value: perSecond(singles, singleMs),
        baseline: { name: "array push", value: perSecond(n, pushMs) },
        higherIsBetter: true
      },
      {
        id: "memory.batch1000",
        case: `append 1,000-event batches (${n})`,
        unit: "events/s",
        value: perSecond(n, batchMs),
        baseline: { name: "array push", value: perSecond(n, pushMs) },
        higherIsBetter: true
      },
      {
        id: "memory.replay",
        case: `reducer replay (${n})`,
        unit: "events/s",
        value: perSecond(n, reduceMs),
        baseline: { name: "map insert per event", value: perSecond(n, reduceBaselineMs) },
        higherIsBetter: true
      }
    ])
  })

export default bench
