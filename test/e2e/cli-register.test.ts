/**
 * `tessera register` with many sources in one process: `--glob ... --as ...` and `--from FILE|-`,
 * against a real SQLite log, with the summary a user reads and the events the log keeps.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { bin, events, logFile, tempDir, tessera } from "./cli-process.js"

const DATES = Array.from({ length: 35 }, (_, i) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10))
const COLORS = ["blue", "green", "red"]

/** data/<date>/<color>.csv for 35 days and 3 colours: 105 files, as in the issue that asked for this. */
const writeVotes = (dir: string) => {
  for (const date of DATES) {
    fs.mkdirSync(path.join(dir, "data", date), { recursive: true })
    for (const color of COLORS) fs.writeFileSync(path.join(dir, "data", date, `${color}.csv`), `${date},${color}\n`)
  }
}

const registrations = (dir: string) =>
  Effect.map(events(dir), (log) =>
    log.flatMap(({ event }) => (event._tag === "SourcePartitionRegistered" ? [event] : []))
  )

/** `tessera register --from -` with `input` on stdin, through a shell so the pipe is a real one. */
const fromStdin = (dir: string, input: string) =>
  Effect.async<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    fs.writeFileSync(path.join(dir, "stdin.jsonl"), input)
    execFile(
      "sh",
      ["-c", `"${process.execPath}" "${bin}" --store "sqlite:${logFile(dir)}" register --from - < stdin.jsonl`],
      { cwd: dir, timeout: 60_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : Number(error.code), stdout, stderr }))
    )
  })

describe("tessera register, many at once", () => {
  it.scopedLive("--glob --as registers every matching file in one append, then only what changed", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeVotes(dir)
      const glob = ["register", "--glob", "data/*/*.csv", "--as", "votes/date={date}/color={color}"]
      const first = yield* tessera(dir, glob)
      expect(first.stdout.trim()).toBe("105 source partition(s): 105 registered, 0 changed, 0 unchanged.")
      const recorded = yield* registrations(dir)
      expect(recorded).toHaveLength(105)
      expect(new Set(recorded.map((event) => event.buildRequestId)).size).toBe(1)
      expect(recorded.map((event) => event.partitionRef)).toContain("votes/date=2026-02-04/color=red")
      expect(
        recorded.find((event) => event.partitionRef === "votes/date=2026-01-07/color=blue")?.manifest
      ).toMatchObject({
        path: path.join(dir, "data", "2026-01-07", "blue.csv"),
        size: 16
      })

      fs.writeFileSync(path.join(dir, "data", "2026-01-07", "blue.csv"), "2026-01-07,blue,late vote\n")
      const second = yield* tessera(dir, [...glob, "--json"])
      expect(JSON.parse(second.stdout)).toMatchObject({ registered: 0, changed: 1, unchanged: 104 })
      expect(yield* registrations(dir)).toHaveLength(106)
    })
  )

  it.scopedLive("--from reads JSON lines from a file or stdin; a bad line registers nothing", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, "a.csv"), "a\n")
      const lines = [
        JSON.stringify({ ref: "raw/name=a", path: "a.csv" }),
        "",
        JSON.stringify({ ref: "raw/name=b", path: "s3://bucket/b.csv", checksum: "etag-1" })
      ].join("\n")
      fs.writeFileSync(path.join(dir, "list.jsonl"), lines)
      expect((yield* tessera(dir, ["register", "--from", "list.jsonl"])).stdout.trim()).toBe(
        "2 source partition(s): 2 registered, 0 changed, 0 unchanged."
      )
      const piped = yield* fromStdin(dir, `${lines}\n${JSON.stringify({ ref: "raw/name=c", path: "a.csv" })}\n`)
      expect(piped.stdout.trim()).toBe("3 source partition(s): 1 registered, 0 changed, 2 unchanged.")

      const bad = yield* fromStdin(
        dir,
        `${JSON.stringify({ ref: "raw/name=d", path: "a.csv" })}\n{"ref": "raw/name=e"}\n`
      )
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain("stdin, line 2: path: is missing")
      const missing = yield* tessera(dir, ["register", "--from", "list.jsonl", "--glob", "*.csv", "--as", "x/n={n}"])
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("sources are named in more than one way")
      expect((yield* registrations(dir)).map((event) => event.partitionRef)).toEqual([
        "raw/name=a",
        "raw/name=b",
        "raw/name=c"
      ])
    })
  )

  it.scopedLive("a glob whose wildcards do not fit the template is refused before anything is read", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeVotes(dir)
      const refused = yield* tessera(dir, ["register", "--glob", "data/*/*.csv", "--as", "votes/date={date}"])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain("the glob has 2 wildcard(s) and the template 1 parameter(s)")
      const none = yield* tessera(dir, ["register", "--glob", "data/*/*.parquet", "--as", "v/date={date}/c={c}"])
      expect(none.code).toBe(2)
      expect(none.stderr).toContain("no file under")
      expect(yield* registrations(dir)).toEqual([])
    })
  )
})
