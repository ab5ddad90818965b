/**
 * `Batch.decide` answers an append alike whether the rows it names are at hand (`Loader.known`, the
 * way nearly every append is decided) or come through the loader's effects (a row a store must still
 * read): the same batch, or the same refusal, over random histories; and a group decided over a
 * prefetch that lacks some rows decides each append as it would have been decided alone.
 */
import { describe, expect, it } from "@effect/vitest"
import { Batch, type BuildEvent, type Views } from "@tessera/core"
import { Effect, Either } from "effect"
import * as Arbitrary from "../src/arbitrary.js"

/** A log's state in maps, with a loader that reads it through effects and one that also has it at hand. */
const memory = () => {
  const eventIds = new Set<string>()
  const partitions = new Map<string, Views.PartitionRow>()
  const jobRuns = new Map<string, Views.JobRunRow>()
  const buildRequests = new Map<string, Views.BuildRequestRow>()
  let head = 0
  const pick = <A>(rows: ReadonlyMap<string, A>, keys: ReadonlyArray<string>) =>
    keys.flatMap((key) => {
      const row = rows.get(key)
      return row === undefined ? [] : [row]
    })
  const loading: Batch.Loader<never> = {
    existingEventIds: (ids) => Effect.sync(() => new Set(ids.filter((id) => eventIds.has(id)))),
    partitions: (refs) => Effect.sync(() => pick(partitions, refs)),
    jobRuns: (ids) => Effect.sync(() => pick(jobRuns, ids)),
    buildRequests: (ids) => Effect.sync(() => pick(buildRequests, ids))
  }
  const atHand: Batch.Loader<never> = {
    ...loading,
    known: Batch.knownIn({ eventIds, partitions, jobRuns, buildRequests })
  }
  const apply = (batch: Batch.Batch) => {
    for (const { event } of batch.logged) eventIds.add(event.eventId)
    for (const row of batch.partitions) partitions.set(row.ref, row)
    for (const row of batch.jobRuns) jobRuns.set(row.jobRunId, row)
    for (const row of batch.buildRequests) buildRequests.set(row.buildRequestId, row)
    head += batch.logged.length
  }
  /** The rows `keys` names, as a store's prefetch finds them. */
  const fetch = (keys: Batch.Keys): Batch.Prefetched => ({
    existingEventIds: new Set(keys.eventIds.filter((id) => eventIds.has(id))),
    partitions: new Map(pick(partitions, keys.refs).map((row) => [row.ref, row])),
    jobRuns: new Map(pick(jobRuns, keys.jobRunIds).map((row) => [row.jobRunId, row])),
    buildRequests: new Map(pick(buildRequests, keys.buildRequestIds).map((row) => [row.buildRequestId, row]))
  })
  return { loading, atHand, apply, fetch, head: () => head }
}

/** What a caller learns of a decision: what it decided, or the refusal's kind and message. */
const seen = <A>(decided: Either.Either<A, unknown>) =>
  Either.match(decided, {
    onLeft: (error) => ({ refused: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
    onRight: (value) => ({ value })
  })

const appendsOf = (history: ReadonlyArray<Arbitrary.Append>) => {
  let previous: ReadonlyArray<BuildEvent.BuildEvent> = []
  return history.map((append) => {
    const events = Arbitrary.toEvents(append.ops, previous)
    previous = events
    return { events, expect: append.expect }
  })
}

describe("Batch.decide", () => {
  it.effect.prop("decides alike from rows at hand and through the loader", [Arbitrary.history], ([history]) =>
    Effect.gen(function* () {
      const log = memory()
      for (const append of appendsOf(history)) {
        const options = { firstSeq: log.head() + 1, now: Date.now(), expect: append.expect }
        const loaded = yield* Effect.either(Batch.decide(log.loading, append.events, options))
        const atHand = yield* Effect.either(Batch.decide(log.atHand, append.events, options))
        expect(seen(atHand)).toEqual(seen(loaded))
        if (Either.isRight(loaded)) log.apply(loaded.right)
      }
    })
  )

  it.effect.prop(
    "a group over a prefetch of its keys decides each append as it is decided alone",
    [Arbitrary.history],
    ([history]) =>
      Effect.gen(function* () {
        const appends = appendsOf(history)
        const now = Date.now()
        const alone = memory()
        const expected: Array<ReturnType<typeof seen>> = []
        for (const append of appends) {
          const options = { firstSeq: alone.head() + 1, now, expect: append.expect }
          const decided = yield* Effect.either(Batch.decide(alone.loading, append.events, options))
          expected.push(seen(Either.map(decided, (batch) => batch.logged)))
          if (Either.isRight(decided)) alone.apply(decided.right)
        }
        // The prefetch holds the rows the group's events name; a heartbeat's outputs come from the loader.
        const store = memory()
        const keys = Batch.keysOfGroup(appends)
        const group = yield* Batch.decideGroup(appends, {
          head: 0,
          now,
          prefetch: Batch.prefetched(keys, store.fetch(keys), store.loading)
        })
        expect(group.results.map((result) => seen(Either.map(result, (appended) => appended.appended)))).toEqual(
          expected
        )
      })
  )
})
