import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { AutomationTable, Daemon, FileSensor, Store } from "@tessera/cli"
import { AutomationOverview, AutomationState, EventLog, Graph, Job, pattern, Sensor } from "@tessera/core"
import { Effect, Either, Fiber, Layer, Schedule } from "effect"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-file-sensor-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

// Scans every ten minutes: within the test only the watcher can notice a file.
const inbox = Sensor.files({
  name: "inbox",
  glob: "inbox/*.csv",
  as: "raw/date={date}",
  build: (refs) => refs.map((ref) => ref.replace("raw/", "clean/")),
  pollMs: 600_000
})

const graph = Graph.make(
  [
    Job.make({
      name: "clean",
      outputs: [pattern("clean/date={date}")],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [ref.replace("clean/", "raw/")] })),
      run: (ctx) => Effect.succeed({ rows: ctx.inputs.length })
    })
  ],
  { sensors: [inbox] }
)

const status = (ref: string) =>
  Effect.flatMap(EventLog.EventLog, (log) =>
    Effect.map(log.partitions({ refs: [ref] }), (page) => page.items[0]?.status ?? "UNKNOWN")
  )

const until = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  check.pipe(
    Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("100 millis") }),
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("gave up waiting") })
  )

describe("Sensor.files in a daemon", () => {
  it.scopedLive(
    "the watcher notices a dropped file, a pause in the SQLite table holds it back, a resume lets it in",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        fs.mkdirSync(path.join(dir, "inbox"))
        const store = Either.getOrThrow(Store.parse(`sqlite:${path.join(dir, "events.db")}`, dir))
        const layer = Layer.provideMerge(AutomationTable.layer(store, { create: true }), Store.layer(store))
        yield* Effect.gen(function* () {
          const fiber = yield* Effect.fork(Daemon.run(graph, [FileSensor.loop(inbox, dir)]))
          // The watcher starts with the loop; a file written before it is ready would be seen by the first scan.
          yield* Effect.sleep("1 second")
          fs.writeFileSync(path.join(dir, "inbox", "2026-11-30.csv"), "a,b\n")
          yield* until(Effect.map(status("clean/date=2026-11-30"), (s) => s === "AVAILABLE"))
          const log = yield* EventLog.EventLog
          const raw = (yield* log.partitions({ refs: ["raw/date=2026-11-30"] })).items[0]!
          expect(raw.manifest).toMatchObject({ path: path.join(dir, "inbox", "2026-11-30.csv"), size: 4 })
          expect(String(raw.manifest?.checksum)).toMatch(/^sha256:[0-9a-f]{64}$/)
          expect(typeof raw.manifest?.mtime).toBe("string")

          const state = yield* AutomationState.AutomationState
          yield* state.setPaused("inbox", "sensor", true, Date.now())
          yield* Effect.sleep("2500 millis")
          fs.writeFileSync(path.join(dir, "inbox", "2026-12-01.csv"), "c\n")
          yield* Effect.sleep("3 seconds")
          expect(yield* status("raw/date=2026-12-01")).toBe("UNKNOWN")
          expect((yield* AutomationOverview.sensors(graph))[0]).toMatchObject({ name: "inbox", paused: true })

          yield* state.setPaused("inbox", "sensor", false, Date.now())
          yield* until(Effect.map(status("clean/date=2026-12-01"), (s) => s === "AVAILABLE"))
          yield* Fiber.interrupt(fiber)
        }).pipe(Effect.provide(layer))
        // The pause is in the file: another process opening the store reads it.
        const rows = yield* Effect.flatMap(AutomationState.AutomationState, (state) => state.rows(["inbox"])).pipe(
          Effect.provide(AutomationTable.layer(store, { create: false }))
        )
        expect(rows.get("inbox")).toMatchObject({ kind: "sensor", paused: false })
      })
  )
})
