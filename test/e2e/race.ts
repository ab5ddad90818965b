/**
 * The promise Tessera exists for, tested the way users break it: several real `tessera build`
 * processes, started at the same moment with default options, request the same graph (a diamond
 * per day and a fan-in) whose jobs sleep and write to a side-effect file outside the log. Each
 * partition's job must have executed exactly once, every request must end COMPLETED, and the log
 * (judged by its append times) must never show two live claims on one partition. The chaos
 * variant kills builders with SIGKILL at random moments and resumes them: only runs a killed
 * process had started may run again. Written once, run on every store several processes share.
 */
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import type { BuildEvent } from "@tessera/core"
import { Chunk, Effect, Random, Schedule } from "effect"
import * as Invariants from "../src/invariants.js"
import { type Exit, type Running, startNode } from "../src/processes.js"
import * as SideEffects from "../src/sideEffects.js"
import { partitions, type SideEffect } from "./fixtures/race-graph.js"

const bin = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url))
const graph = fileURLToPath(new URL("./fixtures/race-graph.ts", import.meta.url))

export interface RaceOptions {
  /** A `--store` value for a fresh, empty log, alive for the scope. */
  readonly store: SideEffects.FreshStore
}

type Trial = SideEffects.Trial

const trial = (options: RaceOptions) => SideEffects.trial("tessera-race-", options.store)

const tessera = (t: Trial, args: ReadonlyArray<string>) =>
  startNode([bin, "--graph", graph, "--store", t.store, ...args], { cwd: t.dir, env: { RACE_EFFECTS: t.effects } })

const sideEffects = (t: Trial) => SideEffects.read<SideEffect>(t.effects)

const logOf = (t: Trial) => SideEffects.logOf(t.store, t.dir)

/** Executions (side-effect starts) per partition, by the processes in `pids` or by any. */
const startsPerRef = (effects: ReadonlyArray<SideEffect>, pids?: ReadonlySet<number>) => {
  const counts = new Map<string, number>()
  for (const e of effects) {
    if (e.at !== "start" || (pids !== undefined && !pids.has(e.pid))) continue
    counts.set(e.ref, (counts.get(e.ref) ?? 0) + 1)
  }
  return counts
}

const explain = (exits: ReadonlyArray<Exit>) =>
  exits.map((exit, i) => `builder ${i}: exit ${exit.code} ${exit.signal ?? ""}\n${exit.stderr.slice(-2000)}`).join("\n")

/** What holds after every trial, killed builders or not, read from the log. */
const checkLog = (events: ReadonlyArray<BuildEvent.LoggedEvent>, builds: ReadonlyArray<{ status: string }>) => {
  expect(Invariants.overlappingClaims(events)).toEqual([])
  expect(builds.map((build) => build.status)).toEqual(builds.map(() => "COMPLETED"))
  for (const { appendedAt, seq } of events) expect(appendedAt, `seq ${seq}`).toBeGreaterThan(0)
}

export const raceSuite = (name: string, options: RaceOptions) =>
  describe(`racing tessera builds on ${name}`, () => {
    for (const builders of [2, 8]) {
      it.scopedLive(
        `${builders} processes build one graph at once with default options: every job executes exactly once`,
        () =>
          Effect.gen(function* () {
            const t = yield* trial(options)
            const running = yield* Effect.forEach(
              Array.from({ length: builders }, (_, i) => i),
              (i) => tessera(t, ["build", "summary/all", "--id", `race-${i}`]),
              { concurrency: "unbounded" }
            )
            const exits = yield* Effect.forEach(running, (r) => r.exit, { concurrency: "unbounded" })
            for (const exit of exits) expect(exit.code, explain(exits)).toBe(0)

            const effects = sideEffects(t)
            const starts = startsPerRef(effects)
            const twice = [...starts].filter(([, n]) => n !== 1)
            expect(twice, "partitions whose job did not execute exactly once").toEqual([])
            expect([...starts.keys()].sort()).toEqual([...partitions].sort())
            expect(effects.filter((e) => e.at === "end")).toHaveLength(partitions.length)

            const { events, builds } = yield* logOf(t)
            expect(builds).toHaveLength(builders)
            checkLog(events, builds)
            expect([...Invariants.buildsPerPartition(events).values()]).toEqual(partitions.map(() => 1))
          }),
        240_000
      )
    }

    it.scopedLive(
      "builders killed with SIGKILL at random moments, then resumed: only runs a killed process started run again",
      () =>
        Effect.gen(function* () {
          const t = yield* trial(options)
          // Short leases, so the killed builders' claims expire within the test's time.
          const lease = ["--lease", "3000"]
          const running: Array<Running> = yield* Effect.forEach(
            [0, 1, 2, 3],
            (i) => tessera(t, ["build", "summary/all", "--id", `chaos-${i}`, ...lease]),
            { concurrency: "unbounded" }
          )
          const pids = running.map((r) => r.child.pid!)
          const victims = Chunk.toReadonlyArray(yield* Random.shuffle([0, 1, 2, 3])).slice(0, 2)
          for (const victim of victims) {
            // After a random number of job starts, somewhere in the middle of the build.
            const after = yield* Random.nextIntBetween(2, partitions.length - 4)
            yield* Effect.sync(() => sideEffects(t).filter((e) => e.at === "start").length >= after).pipe(
              Effect.repeat({ until: (enough) => enough, schedule: Schedule.spaced("20 millis") }),
              Effect.timeout("120 seconds")
            )
            running[victim]!.child.kill("SIGKILL")
          }
          const exits = yield* Effect.forEach(running, (r) => r.exit, { concurrency: "unbounded" })
          const killed = new Set(victims.map((victim) => pids[victim]!))
          for (const [i, exit] of exits.entries()) {
            if (!victims.includes(i) || exit.signal !== "SIGKILL") expect(exit.code, explain(exits)).toBe(0)
          }
          for (const victim of victims) {
            const resumed = yield* Effect.flatMap(tessera(t, ["resume", `chaos-${victim}`, ...lease]), (r) => r.exit)
            // Exit 2: the victim's build had ended before the kill, or it was killed before it requested one.
            expect([0, 2], explain([resumed])).toContain(resumed.code)
          }

          const effects = sideEffects(t)
          const startedByKilled = new Set(
            effects.filter((e) => e.at === "start" && killed.has(e.pid)).map((e) => e.ref)
          )
          const live = new Set(pids.filter((pid) => !killed.has(pid)))
          const all = startsPerRef(effects)
          // The resuming processes are never killed either.
          for (const e of effects) if (!pids.includes(e.pid)) live.add(e.pid)
          const byLive = startsPerRef(effects, live)
          for (const ref of partitions) {
            expect(all.get(ref) ?? 0, `${ref} never executed`).toBeGreaterThan(0)
            expect(byLive.get(ref) ?? 0, `${ref} executed twice by processes never killed`).toBeLessThanOrEqual(1)
            if (!startedByKilled.has(ref))
              expect(all.get(ref), `${ref} re-ran though no killed process had started it`).toBe(1)
          }

          const { events, builds } = yield* logOf(t)
          expect(builds.length).toBeGreaterThanOrEqual(2)
          checkLog(events, builds)
        }),
      300_000
    )
  })
