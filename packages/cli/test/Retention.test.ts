import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Retention } from "@tessera/cli"
import { BuildEvent, Compaction, EventId, EventLog } from "@tessera/core"
import { countRows, loadSnapshot } from "@tessera/store-delta"
import { SqliteCompactor, SqliteEventLog } from "@tessera/store-sqlite"
import { Effect, Either, Fiber, Layer, TestClock } from "effect"

const DAY = 86_400_000

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-retention-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A build received and cancelled at `at`: two events, finished. */
const cancelled = (id: string, at: number) => [
  new BuildEvent.BuildRequestReceived({
    eventId: EventId.unsafeMake(at),
    timestamp: at,
    buildRequestId: id,
    requestedRefs: [],
    source: "api",
    options: {}
  }),
  new BuildEvent.BuildRequestStatusChanged({
    eventId: EventId.unsafeMake(at),
    timestamp: at,
    buildRequestId: id,
    status: "CANCELLED"
  })
]

/**
 * Lets the policy's fiber run until `done` holds of the compaction state. The test clock stands
 * still, so it waits on real timers (the archive's file I/O needs them), a bounded number of times.
 */
const until = (done: (state: Compaction.State) => boolean) =>
  Effect.gen(function* () {
    const compactor = yield* Compaction.Compactor
    for (let turn = 0; turn < 1000; turn++) {
      const state = yield* compactor.state
      if (done(state)) return state
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
    }
    return yield* Effect.dieMessage("the policy did not get there")
  })

describe("the retention policy", () => {
  it("is parsed from the config's value, with a clear reason when it is not one", () => {
    const policy = Retention.parse({ before: "7d", every: "30m", archive: "delta:archive" }, "/srv")
    expect(Either.getOrThrow(policy)).toMatchObject({ before: "7d", archive: "/srv/archive" })
    expect(Either.getOrThrow(Retention.parse({ before: "120000" }, "/")).bound).toEqual({ _tag: "Seq", seq: 120000 })
    for (const [value, reason] of [
      ["7d", "retention must be an object"],
      [{ every: "1h" }, "retention.before must be a string"],
      [{ before: "soon" }, 'retention.before: "soon" is not a bound'],
      [{ before: "7d", every: "0m" }, "retention.every"],
      [{ before: "7d", archive: "sqlite:x.db" }, "retention.archive"]
    ] as const) {
      const refused = Retention.parse(value, "/")
      expect(Either.isLeft(refused) && refused.left).toContain(reason)
    }
  })

  it.scoped("runs at once and then every `every`; a failed run is tried again at the next tick", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = path.join(dir, "events.db")
      // The log first, then the compactor: opened one after the other, neither waits on the other's migration.
      const layer = Layer.provideMerge(SqliteCompactor.layer({ filename }), SqliteEventLog.layer({ filename }))
      yield* Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const now = 30 * DAY
        yield* TestClock.setTime(now)
        yield* log.append(cancelled("old", now - 2 * DAY))
        yield* log.append(cancelled("recent", now - 3_600_000))
        yield* log.append(cancelled("today", now))
        // The archive's folder is a file at first: the first run fails after recording its chunk as pending.
        const archive = path.join(dir, "archive")
        fs.writeFileSync(archive, "not a folder")
        const policy = Either.getOrThrow(
          Retention.parse({ before: "1d", every: "1h", archive: `delta:${archive}` }, dir)
        )
        const fiber = yield* Effect.fork(Retention.run(policy))
        expect((yield* until((state) => state.pending !== undefined)).removed).toBe(0)
        fs.rmSync(archive)
        yield* TestClock.adjust("1 hour")
        const first = yield* until((state) => state.removed === 2)
        expect(first).toMatchObject({ pending: undefined, chunks: 1 })
        // A day later the build of an hour before is old enough too.
        yield* TestClock.adjust("1 day")
        const second = yield* until((state) => state.removed === 4)
        expect(second.chunks).toBe(2)
        expect(yield* countRows(yield* loadSnapshot(archive))).toBe(4)
        expect((yield* log.read({ buildRequestIds: ["today"] })).events).toHaveLength(2)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(layer))
    })
  )
})
