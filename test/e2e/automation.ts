/**
 * Sensors and schedules as users run them: real `tessera daemon` processes over one store, a real
 * folder that files are dropped into, and a schedule ticking every two seconds on the real clock.
 * The jobs write to a side-effect file outside the log, so the test counts what really ran: with two
 * daemons racing, each file version's downstream is built once and each tick fires once; with a
 * daemon killed by SIGKILL and restarted, no file and no tick is missed or repeated. Written once,
 * run on every store several processes share.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import type { BuildEvent } from "@tessera/core"
import { Effect, Schedule } from "effect"
import * as Invariants from "../src/invariants.js"
import { type Running, startNode } from "../src/processes.js"
import * as SideEffects from "../src/sideEffects.js"
import type { SideEffect } from "./fixtures/automation-graph.js"

const bin = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url))
const graph = fileURLToPath(new URL("./fixtures/automation-graph.ts", import.meta.url))

export interface AutomationOptions {
  /** A `--store` value for a fresh, empty log, alive for the scope. */
  readonly store: SideEffects.FreshStore
}

type Trial = SideEffects.Trial

const trial = (options: AutomationOptions) =>
  Effect.tap(SideEffects.trial("tessera-automation-", options.store), (t) =>
    Effect.sync(() => fs.mkdirSync(path.join(t.dir, "inbox")))
  )

const tessera = (t: Trial, args: ReadonlyArray<string>) =>
  startNode([bin, "--graph", graph, "--store", t.store, ...args], {
    cwd: t.dir,
    env: { AUTOMATION_EFFECTS: t.effects, AUTOMATION_EVERY: "2" }
  })

const daemon = (t: Trial) => tessera(t, ["daemon", "--lease", "3000"])

/** Drops a file the way careful writers do: written beside the folder, then renamed into it. */
const drop = (t: Trial, day: string, content: string) =>
  Effect.sync(() => {
    const temp = path.join(t.dir, `.${day}.tmp`)
    fs.writeFileSync(temp, content)
    fs.renameSync(temp, path.join(t.dir, "inbox", `${day}.csv`))
  })

const sideEffects = (t: Trial) => SideEffects.read<SideEffect>(t.effects)

const count = (effects: ReadonlyArray<SideEffect>, at: "start" | "end", job: string) => {
  const counts = new Map<string, number>()
  for (const e of effects) if (e.at === at && e.job === job) counts.set(e.ref, (counts.get(e.ref) ?? 0) + 1)
  return counts
}

/** Waits until `done` holds of the side effects, failing with the daemons' output after two minutes. */
const until = (t: Trial, daemons: ReadonlyArray<Running>, done: (effects: ReadonlyArray<SideEffect>) => boolean) =>
  Effect.sync(() => done(sideEffects(t))).pipe(
    Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("100 millis") }),
    Effect.timeoutFail({
      duration: "120 seconds",
      onTimeout: () => new Error(`gave up waiting:\n${daemons.map((d) => d.output()).join("\n")}`)
    }),
    Effect.orDie
  )

const stop = (daemons: ReadonlyArray<Running>) =>
  Effect.forEach(
    daemons,
    (d) =>
      Effect.zipRight(
        Effect.sync(() => d.child.kill("SIGTERM")),
        d.exit
      ),
    {
      concurrency: "unbounded"
    }
  )

const logOf = (t: Trial) => Effect.map(SideEffects.logOf(t.store, t.dir), ({ events }) => events)

const registrations = (events: ReadonlyArray<BuildEvent.LoggedEvent>) => {
  const counts = new Map<string, number>()
  for (const { event } of events) {
    if (event._tag === "SourcePartitionRegistered")
      counts.set(event.partitionRef, (counts.get(event.partitionRef) ?? 0) + 1)
  }
  return counts
}

const TICK_MS = 2000

/** The tick instants of `refs` (tick/at=2026-12-01T18-10-46-000Z), sorted. */
const ticksOf = (refs: Iterable<string>) =>
  [...refs]
    .map((ref) => {
      const [date, time] = ref.slice("tick/at=".length).split("T") as [string, string]
      const [h, m, s, ms] = time.replace("Z", "").split("-")
      return Date.parse(`${date}T${h}:${m}:${s}.${ms}Z`)
    })
    .sort((a, b) => a - b)

/** Every tick from the first to the last is there: none was missed. */
const contiguous = (ticks: ReadonlyArray<number>) => ticks.every((at, i) => i === 0 || at - ticks[i - 1]! === TICK_MS)

const days = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => `2026-11-${String(from + i).padStart(2, "0")}`)

export const automationSuite = (name: string, options: AutomationOptions) =>
  describe(`tessera daemon on ${name}`, () => {
    it.scopedLive(
      "two daemons race for the same dropped files and ticks: each file version's downstream builds once, each tick fires once",
      () =>
        Effect.gen(function* () {
          const t = yield* trial(options)
          // Files there before the daemons start: both find them in their first scan, at once.
          for (const day of days(1, 3)) yield* drop(t, day, `${day},early\n`)
          const daemons = [yield* daemon(t), yield* daemon(t)]
          for (const day of days(4, 3)) {
            yield* Effect.sleep("300 millis")
            yield* drop(t, day, `${day},late\n`)
          }
          yield* until(t, daemons, (e) => count(e, "end", "clean").size === 6)
          // Changed content is a new version, built once more; the same content rewritten is not.
          yield* drop(t, "2026-11-02", "2026-11-02,corrected\n")
          yield* drop(t, "2026-11-03", "2026-11-03,early\n")
          yield* until(t, daemons, (e) => (count(e, "end", "clean").get("clean/date=2026-11-02") ?? 0) === 2)
          yield* until(t, daemons, (e) => count(e, "end", "tick").size >= 4)
          // Long enough for the 2026-11-03 rewrite to be scanned (pollMs 500, settle 1 s) by both.
          yield* Effect.sleep("2500 millis")
          yield* stop(daemons)

          const effects = sideEffects(t)
          const cleanStarts = count(effects, "start", "clean")
          const expected = new Map(days(1, 6).map((day) => [`clean/date=${day}`, day === "2026-11-02" ? 2 : 1]))
          expect(cleanStarts).toEqual(expected)
          expect(count(effects, "end", "clean")).toEqual(expected)
          const tickStarts = count(effects, "start", "tick")
          expect(
            [...tickStarts].filter(([, n]) => n !== 1),
            "ticks whose job ran more than once"
          ).toEqual([])
          expect(contiguous(ticksOf(tickStarts.keys())), `ticks missed: ${[...tickStarts.keys()]}`).toBe(true)

          const events = yield* logOf(t)
          expect(registrations(events)).toEqual(
            new Map(days(1, 6).map((day) => [`raw/date=${day}`, day === "2026-11-02" ? 2 : 1]))
          )
          expect(Invariants.overlappingClaims(events)).toEqual([])

          // The listings read what the daemons left: the last tick from the log, the sensor's last pass.
          const listed = yield* Effect.flatMap(tessera(t, ["schedules", "--json"]), (r) => r.exit)
          expect(listed.code, listed.stderr).toBe(0)
          const last = Math.max(...ticksOf(tickStarts.keys()))
          expect(JSON.parse(listed.stdout)).toMatchObject({
            schedules: [{ name: "ticker", paused: false, lastTick: { at: last, status: "COMPLETED" } }]
          })
          const sensors = yield* Effect.flatMap(tessera(t, ["sensors"]), (r) => r.exit)
          expect(sensors.stdout).toMatch(/^SENSOR +WATCHES +STATE/)
          expect(sensors.stdout).toMatch(/inbox +inbox\/\*\.csv -> raw\/date=\{date\} +running +\d{4}-/)
        }),
      240_000
    )

    it.scopedLive(
      "tessera serve runs the sensors too, and a pause from its API holds in a daemon process on the same store",
      () =>
        Effect.gen(function* () {
          const t = yield* trial(options)
          const server = yield* tessera(t, ["serve", "--port", "0"])
          const url = yield* Effect.suspend(() => {
            const found = /at (http:\/\/\S+) /.exec(server.output())?.[1]
            return found === undefined ? Effect.fail(new Error("not listening yet")) : Effect.succeed(found)
          }).pipe(
            Effect.retry(Schedule.spaced("100 millis")),
            Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(server.output()) }),
            Effect.orDie
          )
          const api = (method: string, route: string) =>
            Effect.promise(async () => {
              const response = await fetch(`${url}${route}`, {
                method,
                ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: "{}" } : {})
              })
              return { status: response.status, body: (await response.json()) as Record<string, unknown> }
            })
          yield* drop(t, "2026-11-01", "a\n")
          yield* until(t, [server], (e) => count(e, "end", "clean").has("clean/date=2026-11-01"))
          expect((yield* api("GET", "/api/v1/sensors")).body).toMatchObject({
            sensors: [{ name: "inbox", paused: false, lastRunAt: expect.any(Number) }]
          })
          expect((yield* api("POST", "/api/v1/automations/inbox/pause")).body).toMatchObject({ paused: true })

          // Another process on the store reads the pause from its table, and a daemon started now keeps it.
          const listed = yield* Effect.flatMap(tessera(t, ["sensors", "--json"]), (r) => r.exit)
          expect(JSON.parse(listed.stdout)).toMatchObject({ sensors: [{ name: "inbox", paused: true }] })
          yield* stop([server])
          const worker = yield* daemon(t)
          yield* drop(t, "2026-11-02", "b\n")
          yield* Effect.sleep("4 seconds")
          expect(count(sideEffects(t), "start", "clean").has("clean/date=2026-11-02")).toBe(false)
          const events = yield* logOf(t)
          expect(registrations(events).has("raw/date=2026-11-02")).toBe(false)
          yield* stop([worker])
        }),
      240_000
    )

    it.scopedLive(
      "a daemon killed with SIGKILL and restarted misses no file and no tick, and repeats none",
      () =>
        Effect.gen(function* () {
          const t = yield* trial(options)
          const first = yield* daemon(t)
          for (const day of days(1, 3)) yield* drop(t, day, `${day}\n`)
          yield* until(t, [first], (e) => count(e, "end", "clean").size === 3 && count(e, "start", "tick").size >= 2)
          first.child.kill("SIGKILL")
          yield* first.exit
          // While no daemon runs: files arrive and ticks pass.
          for (const day of days(4, 3)) yield* drop(t, day, `${day}\n`)
          yield* Effect.sleep("5 seconds")
          const second = yield* daemon(t)
          yield* until(t, [second], (e) => count(e, "end", "clean").size === 6)
          const seen = count(sideEffects(t), "start", "tick").size
          yield* until(t, [second], (e) => count(e, "end", "tick").size >= seen + 2)
          yield* stop([second])

          const effects = sideEffects(t)
          const killed = first.child.pid!
          const live = effects.filter((e) => e.pid !== killed)
          // Only a run the killed daemon had started may run again, in the restarted one.
          const startedByKilled = new Set(effects.filter((e) => e.at === "start" && e.pid === killed).map((e) => e.ref))
          const ends = new Map([...count(effects, "end", "clean"), ...count(effects, "end", "tick")])
          for (const [ref, n] of ends) expect(n, `${ref} completed more than once`).toBe(1)
          for (const [ref, n] of [...count(live, "start", "clean"), ...count(live, "start", "tick")]) {
            expect(n, `${ref} started twice by the restarted daemon`).toBe(1)
            if (!startedByKilled.has(ref))
              expect(count(effects, "start", ref.startsWith("tick/") ? "tick" : "clean").get(ref), ref).toBe(1)
          }
          expect([...count(effects, "end", "clean").keys()].sort()).toEqual(days(1, 6).map((d) => `clean/date=${d}`))
          // The ticks missed while down were caught up: from the first to the last, none is missing.
          const ticks = ticksOf(count(effects, "start", "tick").keys())
          expect(contiguous(ticks), `ticks missed: ${ticks.map((at) => new Date(at).toISOString())}`).toBe(true)
          expect(ticks.length).toBeGreaterThanOrEqual(seen + 2)

          const events = yield* logOf(t)
          expect(registrations(events)).toEqual(new Map(days(1, 6).map((day) => [`raw/date=${day}`, 1])))
          expect(Invariants.overlappingClaims(events)).toEqual([])
        }),
      240_000
    )
  })
