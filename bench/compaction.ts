/**
 * Retention: compacting a log of N events of finished builds (all but the last build, which holds
 * the log's last event), beside the raw driver deleting the same rows with one plain DELETE in the
 * same run: SQLite without and with
 * a Delta archive (better-sqlite3 on a copy of the same file), and PostgreSQL (postgres.js on a
 * second schema filled the same way).
 *
 * `npm run bench -- compaction [events=200000]`
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DeltaArchive } from "@tessera/cli"
import { BuildEvent, Compaction, EventId, EventLog } from "@tessera/core"
import { PgStore } from "@tessera/store-postgres"
import { SqliteCompactor, SqliteEventLog } from "@tessera/store-sqlite"
import { Effect } from "effect"
import postgres from "postgres"
import * as Postgres from "./src/postgres.js"
import { type Benchmark, chunks, perSecond, report, timed } from "./src/report.js"
import { RawDatabase } from "./src/sqlite.js"
import { history } from "./src/workload.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-bench-compaction-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The workload's events, each build ended COMPLETED after its runs: all of it is compactable. */
const finishedHistory = (n: number) => {
  const events = history(n)
  const builds = [...new Set(events.map((event) => event.buildRequestId))]
  for (const build of builds) {
    const timestamp = Date.now()
    events.push(
      new BuildEvent.BuildRequestStatusChanged({
        eventId: EventId.unsafeMake(timestamp),
        timestamp,
        buildRequestId: build,
        status: "COMPLETED"
      })
    )
  }
  return events
}

const LAST_BUILD = "SELECT build_request_id AS build FROM events ORDER BY seq DESC LIMIT 1"

const fill = (events: ReadonlyArray<BuildEvent.BuildEvent>) =>
  Effect.flatMap(EventLog.EventLog, (log) =>
    Effect.forEach(chunks(events, 1000), (batch) => log.append(batch), { discard: true })
  )

const compactAll = (archive?: Compaction.Archive) =>
  Effect.gen(function* () {
    const compactor = yield* Compaction.Compactor
    return yield* Compaction.run({ _tag: "Seq", seq: yield* compactor.head }, { archive })
  })

const bench: Benchmark = (args) =>
  Effect.scoped(
    Effect.gen(function* () {
      const n = Number(args[0] ?? 200_000)
      const dir = yield* tempDir
      const events = finishedHistory(n)
      process.stdout.write(
        `compaction bench: ${events.length} events of finished builds (all but the last build's are compacted), ` +
          `5,000-event chunks; WAL, synchronous=FULL; in ${dir}\n`
      )

      // SQLite: one file filled by the store, copied twice before anything is compacted.
      const file = path.join(dir, "store.db")
      yield* Effect.scoped(
        Effect.flatMap(SqliteEventLog.make({ filename: file }), (log) =>
          fill(events).pipe(Effect.provideService(EventLog.EventLog, log))
        )
      )
      const copies = ["archived.db", "raw.db"].map((name) => path.join(dir, name))
      for (const copy of copies) fs.copyFileSync(file, copy)
      const [dropped, droppedMs] = yield* timed(
        Effect.scoped(
          Effect.flatMap(SqliteCompactor.make({ filename: file }), (c) =>
            Effect.provideService(compactAll(), Compaction.Compactor, c)
          )
        )
      )
      const archive = yield* DeltaArchive.make(path.join(dir, "archive"))
      const [archived, archivedMs] = yield* timed(
        Effect.scoped(
          Effect.flatMap(SqliteCompactor.make({ filename: copies[0]! }), (c) =>
            Effect.provideService(compactAll(archive), Compaction.Compactor, c)
          )
        )
      )
      // What the store kept is the events of the build holding the log's last event; the raw DELETE takes the rest.
      const kept = new RawDatabase(file)
      const lastBuild = (kept.prepare(LAST_BUILD).get() as { build: string }).build
      kept.close()
      const raw = new RawDatabase(copies[1]!)
      raw.pragma("journal_mode = WAL")
      raw.pragma("synchronous = FULL")
      const [rawDeleted, rawMs] = yield* timed(
        Effect.sync(
          () =>
            (raw.prepare("DELETE FROM events WHERE build_request_id <> ?").run(lastBuild) as { changes: number })
              .changes
        )
      )
      raw.close()

      // PostgreSQL: two schemas filled alike; the store compacts one, postgres.js deletes from the other.
      const pg = yield* Postgres.server()
      const schemas = ["compacted", "raw"]
      for (const schema of schemas) {
        yield* Effect.scoped(fill(events).pipe(Effect.provide(PgStore.layer({ url: pg.url, schema }))))
      }
      const [pgResult, pgMs] = yield* timed(
        compactAll().pipe(Effect.provide(PgStore.layer({ url: pg.url, schema: schemas[0]! })), Effect.scoped)
      )
      const client = postgres(pg.url, { onnotice: () => {} })
      yield* Effect.addFinalizer(() => Effect.promise(() => client.end()))
      const [pgRawDeleted, pgRawMs] = yield* timed(
        Effect.promise(() =>
          client.unsafe("DELETE FROM raw.events WHERE build_request_id <> $1", [lastBuild]).then((rows) => rows.count)
        )
      )

      const removed = dropped.removed
      const counts = [removed, archived.removed, pgResult.removed, rawDeleted, pgRawDeleted]
      if (counts.some((count) => count !== removed)) {
        return yield* Effect.dieMessage(`not the same rows: removed ${counts.join(", ")}`)
      }
      yield* report("compaction", [
        {
          id: "compaction.sqlite",
          case: `SQLite: compact ${removed} events, no archive`,
          unit: "events/s",
          value: perSecond(removed, droppedMs),
          baseline: { name: "better-sqlite3 one DELETE", value: perSecond(removed, rawMs) },
          higherIsBetter: true
        },
        {
          id: "compaction.sqlite.archive",
          case: `SQLite: compact ${removed} events into a Delta archive`,
          unit: "events/s",
          value: perSecond(removed, archivedMs),
          baseline: { name: "better-sqlite3 one DELETE", value: perSecond(removed, rawMs) },
          higherIsBetter: true
        },
        {
          id: "compaction.postgres",
          case: `PostgreSQL (${pg.kind}): compact ${removed} events, no archive`,
          unit: "events/s",
          value: perSecond(removed, pgMs),
          baseline: { name: "postgres.js one DELETE", value: perSecond(removed, pgRawMs) },
          higherIsBetter: true
        }
      ])
    })
  )

export default bench
