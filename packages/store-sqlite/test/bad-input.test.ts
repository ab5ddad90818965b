import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { EventFilter } from "@tessera/core"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { SqliteEventLog } from "../src/index.js"
import { bytesOf, claim, delegated, openInChild, rawClient, tempDir } from "./helpers.js"

const open = (filename: string, options: Partial<SqliteEventLog.SqliteEventLogOptions> = {}) =>
  Effect.scoped(Effect.asVoid(SqliteEventLog.make({ filename, ...options })))

/** A Tessera log with `n` events, closed (so its WAL is folded into the file). */
const written = (filename: string, n: number) =>
  Effect.scoped(
    Effect.flatMap(SqliteEventLog.make({ filename }), (log) =>
      log.append(Array.from({ length: n }, (_, i) => delegated(`sales/date=${i}`)))
    )
  )

const siblings = (filename: string) =>
  fs.readdirSync(path.dirname(filename)).filter((name) => name.startsWith(`${path.basename(filename)}-`))

/** Another connection takes the file's write lock and holds it until `release`. */
const holdWriteLock = (filename: string) =>
  Effect.gen(function* () {
    const locked = yield* Deferred.make<void>()
    const released = yield* Deferred.make<void>()
    const holder = yield* Effect.fork(
      Effect.scoped(
        Effect.gen(function* () {
          const connection = yield* (yield* rawClient(filename)).reserve
          yield* connection.executeUnprepared("BEGIN IMMEDIATE", [], undefined)
          yield* Deferred.succeed(locked, undefined)
          yield* Deferred.await(released)
          yield* connection.executeUnprepared("COMMIT", [], undefined)
        })
      )
    )
    yield* Deferred.await(locked)
    return { release: Effect.zipRight(Deferred.succeed(released, undefined), Fiber.join(holder)) }
  })

describe("SqliteEventLog on bad input", () => {
  it.scopedLive("a file that is not SQLite is refused and left byte for byte as it was", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "notes.db")
      fs.writeFileSync(filename, "these are my notes, not a database\n".repeat(200))
      const before = yield* bytesOf(filename)
      const refused = yield* Effect.flip(open(filename))
      expect(refused._tag).toBe("NotADatabase")
      expect(refused.message).toContain("is not a SQLite database")
      expect(refused.message).toContain("Point the store at a new path")
      expect(yield* bytesOf(filename)).toEqual(before)
      expect(siblings(filename)).toEqual([])
    })
  )

  it.scopedLive("another program's SQLite database is refused, not even switched to WAL", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "app.db")
      yield* Effect.scoped(
        Effect.gen(function* () {
          const sql = yield* rawClient(filename)
          yield* sql`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)`
          yield* sql`INSERT INTO customers (name) VALUES ('Ada'), ('Grace')`
        })
      )
      const before = yield* bytesOf(filename)
      const refused = yield* Effect.flip(open(filename))
      expect(refused._tag).toBe("ForeignDatabase")
      expect(refused.message).toContain("tables customers")
      expect(yield* bytesOf(filename)).toEqual(before)
      const sql = yield* rawClient(filename)
      expect((yield* sql<{ name: string }>`SELECT name FROM customers ORDER BY id`).map((row) => row.name)).toEqual([
        "Ada",
        "Grace"
      ])
      const [mode] = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
      expect(mode!.journal_mode).toBe("delete")
    })
  )

  it.scopedLive("a log whose schema page is damaged is refused with what to do, and left as it was", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      yield* written(filename, 10)
      const bytes = fs.readFileSync(filename)
      bytes.fill(0x41, 100, 4096)
      fs.writeFileSync(filename, bytes)
      const before = yield* bytesOf(filename)
      const refused = yield* Effect.flip(open(filename))
      expect(refused._tag).toBe("DatabaseCorrupt")
      expect(refused.message).toContain("PRAGMA integrity_check")
      expect(yield* bytesOf(filename)).toEqual(before)
    })
  )

  it.scopedLive("damaged data pages surface as a typed StoreError on read", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      yield* written(filename, 3000)
      const bytes = fs.readFileSync(filename)
      const pageSize = bytes.readUInt16BE(16)
      const pages = bytes.length / pageSize
      // The newest pages: the tail of the events table and its indexes, far from the schema page.
      bytes.fill(0xff, Math.floor(pages / 2) * pageSize, pages * pageSize)
      fs.writeFileSync(filename, bytes)
      const log = yield* SqliteEventLog.make({ filename })
      const failed = yield* Effect.flip(Stream.runDrain(log.stream(EventFilter.all)))
      expect(failed._tag).toBe("StoreError")
      expect(failed.message).toContain("is damaged")
      expect(failed.message).toContain("restore it from a backup")
    })
  )

  it.scopedLive("a missing directory is created by default, and refused when createDirectories is off", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const refused = yield* Effect.flip(open(path.join(dir, "absent", "events.db"), { createDirectories: false }))
      expect(refused._tag).toBe("CannotOpenDatabase")
      expect(refused.message).toContain("does not exist")
      expect(fs.existsSync(path.join(dir, "absent"))).toBe(false)
      yield* open(path.join(dir, "made", ".tessera", "events.db"))
      expect(fs.existsSync(path.join(dir, "made", ".tessera", "events.db"))).toBe(true)
    })
  )

  it.scopedLive("a directory where the file should be is refused", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const refused = yield* Effect.flip(open(dir))
      expect(refused._tag).toBe("CannotOpenDatabase")
      expect(refused.message).toContain("is a directory")
    })
  )

  it.scopedLive("a read-only file or directory is refused before SQLite writes anything beside it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      fs.chmodSync(dir, 0o777)
      const file = path.join(dir, "events.db")
      yield* written(file, 5)
      fs.chmodSync(file, 0o444)
      const before = yield* bytesOf(file)
      const readOnlyFile = yield* openInChild(file)
      expect(readOnlyFile).toMatchObject({ ok: false, tag: "DatabaseReadOnly" })
      expect(readOnlyFile.message).toContain("write permission")
      expect(yield* bytesOf(file)).toEqual(before)
      expect(siblings(file)).toEqual([])

      const locked = path.join(dir, "locked")
      fs.mkdirSync(locked)
      const inLocked = path.join(locked, "events.db")
      yield* written(inLocked, 5)
      fs.chmodSync(inLocked, 0o666)
      fs.chmodSync(locked, 0o555)
      const readOnlyDir = yield* openInChild(inLocked)
      expect(readOnlyDir).toMatchObject({ ok: false, tag: "DatabaseReadOnly" })
      expect(readOnlyDir.message).toContain("is not writable")
      fs.chmodSync(locked, 0o755)
      expect(yield* openInChild(file.replace("events.db", "fresh.db"))).toEqual({ ok: true })
    })
  )

  it.scopedLive("a write lock held elsewhere is waited out, and past busyTimeout reported as a StoreError", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      const log = yield* SqliteEventLog.make({ filename, busyTimeout: "100 millis" })
      const patient = yield* SqliteEventLog.make({ filename })
      const lock = yield* holdWriteLock(filename)
      const impatient = yield* Effect.flip(log.append(claim("r1", "b1", "sales/date=1")))
      expect(impatient._tag).toBe("StoreError")
      expect(impatient.message).toContain("held the write lock")
      expect(impatient.message).toContain("raise busyTimeout")
      const waiting = yield* Effect.fork(patient.append(claim("r1", "b1", "sales/date=1")))
      // Longer than SQLite's own busy wait, so it is the store's retries that carry the append through.
      yield* Effect.sleep("500 millis")
      yield* lock.release
      const waited = yield* Fiber.join(waiting)
      expect(waited.appended.map((e) => e.seq)).toEqual([1, 2])
    })
  )

  it.scopedLive("a reader opens and reads while another connection holds the write lock", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      const writer = yield* SqliteEventLog.make({ filename })
      yield* writer.append(claim("r1", "b1", "sales/date=1"))
      const lock = yield* holdWriteLock(filename)
      // A busyTimeout far shorter than the lock is held: opening must not need the lock at all.
      const reader = yield* SqliteEventLog.make({ filename, busyTimeout: "100 millis" })
      const rows = yield* reader.partitions({ refs: ["sales/date=1"] })
      expect(rows.items.map((row) => row.status)).toEqual(["SCHEDULED"])
      expect(yield* reader.head).toBe(2)
      yield* lock.release
    })
  )
})
