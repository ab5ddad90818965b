/**
 * The event log as a tidy table: a long-running log compacts itself every N commits, so the number
 * of active files stays bounded, and no event is lost or read twice across the rewrites.
 */
import { describe, expect, it } from "@effect/vitest"
import { EventFilter } from "@tessera/core"
import { Effect, Stream } from "effect"
import { DeltaEventLog, loadSnapshot, readCommit } from "../src/index.js"
import { delegatedEvent, tempDir } from "./helpers.js"

describe("event log auto-compaction", () => {
  it.scopedLive("a log of one-event commits keeps a bounded number of active files and every event", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      const compactEvery = 10
      const compactMinFiles = 3
      const appends = 120
      const maxActive = yield* Effect.scoped(
        Effect.gen(function* () {
          const log = yield* DeltaEventLog.make({ path, compactEvery, compactMinFiles, checkpointInterval: 25 })
          let most = 0
          for (let i = 0; i < appends; i++) {
            yield* log.append([delegatedEvent(i)])
            most = Math.max(most, (yield* loadSnapshot(path)).files.length)
          }
          return most
        })
      )
      // Two day partitions, each at most compactEvery new files plus what a compaction left behind.
      expect(maxActive).toBeLessThanOrEqual(2 * (compactEvery + compactMinFiles))
      const snapshot = yield* loadSnapshot(path)
      expect(snapshot.files.length).toBeLessThan(appends / 4)
      // Compactions are commits with dataChange: false adds and removes, as readers of changes expect.
      const rewrites = []
      for (let version = 1; version <= snapshot.version; version++) {
        const actions = (yield* readCommit(path, version)).pipe((commit) =>
          commit._tag === "Some" ? commit.value : []
        )
        const adds = actions.filter((action) => action._tag === "add")
        if (actions.some((action) => action._tag === "remove")) rewrites.push(adds.every((a) => !a.add.dataChange))
      }
      expect(rewrites.length).toBeGreaterThan(0)
      expect(rewrites.every(Boolean)).toBe(true)
      // A fresh process reads every event once, in order.
      const events = yield* Effect.scoped(
        Effect.gen(function* () {
          const log = yield* DeltaEventLog.make({ path })
          return yield* Stream.runCollect(log.stream(EventFilter.all))
        })
      )
      expect([...events].map((logged) => logged.event.buildRequestId)).toEqual(
        Array.from({ length: appends }, (_, i) => `b${i}`)
      )
    })
  )
})
