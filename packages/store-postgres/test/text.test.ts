/**
 * Appends go out as SQL text (one message with BEGIN and the lock, one with COMMIT), so values that
 * look like SQL, quoting or escapes must land exactly as given and never as SQL.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { BuildEvent, EventFilter, EventId, PartitionRef } from "@tessera/core"
import { Chunk, Effect, Stream } from "effect"
import * as SqlText from "../src/SqlText.js"
import * as ev from "./events.js"
import { Admin, dropAfter, openLog, uniqueName } from "./helpers.js"

const hostile = [
  "it's",
  "''",
  "'); DROP TABLE events; --",
  "E'\\\\'",
  "$$ $tag$ $$",
  "$t$ $json$ $1$ ends with a dollar $",
  "$t0123456789abcdef$::json); DROP TABLE events; --",
  "back\\slash\\'quote",
  "\\u0000 written out",
  "日本語 🚀 \u2028 end",
  '"double" and {json}'
]

describe("PgEventLog with values that look like SQL", () => {
  it.scopedLive("refs, ids, messages and manifests holding quotes, escapes and SQL land exactly and stay data", () =>
    Effect.gen(function* () {
      const schema = uniqueName("text")
      yield* dropAfter(schema)
      const log = yield* openLog({ schema })
      const stamp = (build: string) => {
        const timestamp = Date.now()
        return { eventId: EventId.unsafeMake(timestamp), timestamp, buildRequestId: build }
      }
      for (const [i, value] of hostile.entries()) {
        const ref = `odd/v=${value.replaceAll("\\", "|")}`
        const spec = { run: `run-${i}`, build: `build-${i}`, ref, lease: ev.liveLease() }
        yield* log.append([
          ...ev.claim(spec),
          ...ev.complete(spec),
          new BuildEvent.PartitionInvalidated({
            ...stamp(spec.build),
            partitionRef: PartitionRef.unsafeMake(ref),
            reason: "manual",
            message: `${value} \u0000 nul`
          }),
          new BuildEvent.SourcePartitionRegistered({
            ...stamp(spec.build),
            partitionRef: PartitionRef.unsafeMake(`src/v=${i}`),
            manifest: { path: value, nested: { list: [value, "\u0000", "\ud800"] } }
          })
        ])
        const row = yield* log.partitions({ refs: [ref] })
        expect(row.items.map((p) => [p.ref, p.status])).toEqual([[ref, "STALE"]])
      }
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
      expect(events.map(({ seq }) => seq)).toEqual(events.map((_, i) => i + 1))
      const messages = events.flatMap(({ event }) => (event._tag === "PartitionInvalidated" ? [event.message] : []))
      expect(messages).toEqual(hostile.map((value) => `${value} \u0000 nul`))
      const manifests = events.flatMap(({ event }) =>
        event._tag === "SourcePartitionRegistered" ? [event.manifest] : []
      )
      expect(manifests).toEqual(
        hostile.map((value) => ({ path: value, nested: { list: [value, "\u0000", "\ud800"] } }))
      )
      // The tables are all still there: nothing above ran as SQL.
      expect((yield* log.buildRequests({})).items).toHaveLength(0)
      expect(yield* log.head).toBe(events.length)
    }).pipe(Effect.provide(Admin))
  )

  it.scopedLive(
    "a document holding this process's own dollar-quote tag is quoted with another and reads back exactly",
    () =>
      Effect.gen(function* () {
        const sql = yield* PgClient.PgClient
        const tag = /^\$(t[0-9a-f]{16})\$/.exec(SqlText.json("probe"))![1]!
        const values = [
          `$${tag}$::json); DROP TABLE events; -- $${tag}$`,
          `ends with the tag's name and a dollar: $${tag}`,
          { [tag]: [`$${tag}`, "'", "\\", "\u0000"] }
        ]
        for (const value of values) {
          const constant = SqlText.json(value)
          expect(constant.startsWith(`$${tag}$`)).toBe(false)
          const [row] = yield* sql.unsafe<{ readonly text: string }>(`SELECT (${constant})::text AS text`)
          expect(row?.text).toBe(JSON.stringify(value))
        }
      }).pipe(Effect.provide(Admin))
  )
})
