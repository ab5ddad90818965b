/**
 * Opening a SQLite file as a Tessera log, and the write transactions every process shares it with.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Reactivity from "@effect/experimental/Reactivity"
import type * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import BetterSqlite3 from "better-sqlite3"
import { Duration, Effect, Exit, Metric, Schedule, type Scope } from "effect"
import {
  CannotOpenDatabase,
  DatabaseReadOnly,
  DatabaseTooNew,
  ForeignDatabase,
  isBusy,
  openError,
  type SqliteOpenError
} from "./Errors.js"
import * as Migrations from "./Migrations.js"

export interface DatabaseOptions {
  /**
   * A file path, or ":memory:" for a log that lives as long as the layer (kept in a private
   * temporary file, removed when the layer closes, so that both of the store's connections see it).
   */
  readonly filename: string
  /** How long a write waits for another process's lock before failing (default 30 seconds). */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /** "FULL" (default) makes every append durable on return; "NORMAL" may lose the last appends on power loss. */
  readonly synchronous?: "FULL" | "NORMAL" | undefined
  /** Create the file's missing parent directories (default true). */
  readonly createDirectories?: boolean | undefined
}

export interface Database {
  /** The connection reads go through. */
  readonly sql: SqlClient.SqlClient
  /** The connection appends go through: better-sqlite3 itself, for statements prepared once and run synchronously. */
  readonly writer: BetterSqlite3.Database
  /** A read-only connection for the store's reads, apart from the writer's open transactions. */
  readonly reader: BetterSqlite3.Database
  /** The absolute path, or ":memory:". */
  readonly filename: string
  /** Retries `self` while another connection holds a lock, with backoff, up to the busy timeout. */
  readonly retryBusy: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const DEFAULT_BUSY_TIMEOUT = Duration.seconds(30)

/**
 * SQLite's own busy handler sleeps on the event loop's thread, so it only bridges short waits; longer
 * ones are retried by `retryBusy` with Effect's timers, leaving other fibers free to run.
 */
const SQLITE_BUSY_WAIT = Duration.millis(200)

export const busyRetries = Metric.counter("tessera_sqlite_busy_retries", {
  description: "write transactions retried because another connection held the SQLite lock"
})

const onSqlError = <A, E, R>(filename: string, self: Effect.Effect<A, E | SqlError, R>) =>
  Effect.catchIf(
    self,
    (error): error is SqlError => error instanceof SqlError,
    (error) => Effect.fail(openError(filename, error))
  )

const codeOfIo = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error ? String(error.code) : "an I/O error"

/** A private folder for a `:memory:` log's file, removed with everything in it when the scope closes. */
const temporaryDirectory = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-memory-"))),
  (directory) => Effect.sync(() => fs.rmSync(directory, { recursive: true, force: true }))
)

/** Makes sure the path can hold a database this process may write, before SQLite creates anything there. */
const prepareFile = (
  filename: string,
  createDirectories: boolean
): Effect.Effect<void, CannotOpenDatabase | DatabaseReadOnly> =>
  Effect.suspend((): Effect.Effect<void, CannotOpenDatabase | DatabaseReadOnly> => {
    const directory = path.dirname(filename)
    const cannot = (reason: string, hint: string, cause?: unknown) =>
      Effect.fail(new CannotOpenDatabase({ filename, reason, hint, ...(cause === undefined ? {} : { cause }) }))
    if (!fs.existsSync(directory)) {
      if (!createDirectories) {
        return cannot(
          `the directory ${directory} does not exist`,
          "Create it, or leave createDirectories on (the default) to let the store create it"
        )
      }
      try {
        fs.mkdirSync(directory, { recursive: true })
      } catch (error) {
        return cannot(
          `cannot create the directory ${directory} (${codeOfIo(error)})`,
          "Create it yourself, or choose a path under a directory this user can write",
          error
        )
      }
    }
    const stat = fs.statSync(filename, { throwIfNoEntry: false })
    if (stat?.isDirectory()) return cannot("it is a directory", "Name a file inside it, such as events.db")
    const denied = (target: string, mode: number) => {
      try {
        fs.accessSync(target, mode)
        return undefined
      } catch (error) {
        return codeOfIo(error)
      }
    }
    if (stat !== undefined) {
      const unreadable = denied(filename, fs.constants.R_OK)
      if (unreadable !== undefined) {
        return cannot(`this user cannot read it (${unreadable})`, "Give this user read and write permission on it")
      }
      // SQLite would silently fall back to read-only, and fail only at the first append.
      const unwritable = denied(filename, fs.constants.W_OK)
      if (unwritable !== undefined) {
        return Effect.fail(new DatabaseReadOnly({ filename, reason: `the file is not writable: ${unwritable}` }))
      }
    }
    const unwritable = denied(directory, fs.constants.W_OK)
    if (unwritable !== undefined) {
      return Effect.fail(
        new DatabaseReadOnly({ filename, reason: `its directory ${directory} is not writable: ${unwritable}` })
      )
    }
    return Effect.void
  })

interface Found {
  readonly applicationId: number
  readonly tables: ReadonlyArray<string>
}

/**
 * The application id and the tables, in one statement so that both come from one snapshot: read
 * apart, a process opening a new file while another migrates it could see the tables without the
 * id that the same transaction wrote, and refuse the file as another program's.
 */
const inspect = (sql: SqlClient.SqlClient): Effect.Effect<Found, SqlError> =>
  Effect.map(
    sql.unsafe<{ application_id: number | null; tables: string }>(
      `SELECT (SELECT application_id FROM pragma_application_id) AS application_id,
        (SELECT json_group_array(name) FROM (SELECT name FROM sqlite_master
          WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name)) AS tables`
    ),
    ([row]) => ({
      applicationId: row?.application_id ?? 0,
      tables: JSON.parse(row?.tables ?? "[]") as ReadonlyArray<string>
    })
  )

/** A file is Tessera's when it carries the application id; an empty file becomes Tessera's. */
const refuseForeign = (filename: string, found: Found) => {
  if (found.applicationId === Migrations.APPLICATION_ID) return Effect.void
  if (found.applicationId !== 0) {
    return Effect.fail(
      new ForeignDatabase({ filename, found: `application id 0x${found.applicationId.toString(16).padStart(8, "0")}` })
    )
  }
  if (found.tables.length === 0) return Effect.void
  const listed = found.tables.slice(0, 5).join(", ") + (found.tables.length > 5 ? ", ..." : "")
  return Effect.fail(new ForeignDatabase({ filename, found: `tables ${listed}` }))
}

/** The schema version the file says it has: its highest migration and its `user_version`. */
const versionOf = (sql: SqlClient.SqlClient, found: Found) =>
  Effect.gen(function* () {
    const [pragma] = yield* sql.unsafe<{ user_version: number }>("PRAGMA user_version")
    const userVersion = pragma?.user_version ?? 0
    if (!found.tables.includes(Migrations.TABLE)) return userVersion
    const [migrated] = yield* sql.unsafe<{ latest: number | null }>(
      `SELECT max(migration_id) AS latest FROM ${Migrations.TABLE}`
    )
    return Math.max(userVersion, migrated?.latest ?? 0)
  })

const isMigrationError = (defect: unknown): defect is Migrator.MigrationError =>
  typeof defect === "object" && defect !== null && "_tag" in defect && defect._tag === "MigrationError"

export const make = (options: DatabaseOptions): Effect.Effect<Database, SqliteOpenError, Scope.Scope> =>
  Effect.gen(function* () {
    const memory = options.filename === ":memory:"
    const filename = memory ? options.filename : path.resolve(options.filename)
    const busyTimeout = Duration.decode(options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT)
    if (!memory) yield* prepareFile(filename, options.createDirectories ?? true)
    // Removed after both connections close: finalizers run in reverse order.
    const file = memory ? path.join(yield* temporaryDirectory, "events.db") : filename

    const sql = yield* SqliteClient.make({
      filename: file,
      // Switched on below, once the file is known to be Tessera's or empty: a foreign file stays byte for byte intact.
      disableWAL: true,
      spanAttributes: { "db.name": filename }
    }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.catchAllDefect((defect) =>
        Effect.fail(openError(filename, new SqlError({ cause: defect, message: "Failed to open the database file" })))
      )
    )

    const busyWait = Duration.toMillis(Duration.min(busyTimeout, SQLITE_BUSY_WAIT))
    // A log that lives as long as the layer has nothing to keep across a power loss.
    const synchronous = memory ? "OFF" : (options.synchronous ?? "FULL")
    const schedule = Schedule.exponential("5 millis", 2).pipe(
      Schedule.union(Schedule.spaced("250 millis")),
      Schedule.jittered,
      Schedule.upTo(busyTimeout),
      Schedule.tapInput(() => Metric.increment(busyRetries))
    )
    // Retrying only once a lock was met keeps the common, uncontended path free of schedule bookkeeping.
    const retryBusy = <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.catchIf(self, isBusy, () => Effect.retry(self, { schedule, while: isBusy }))

    const writeTransaction = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.scoped(
          Effect.gen(function* () {
            const connection = yield* restore(sql.reserve)
            const execute = (statement: string) => connection.executeUnprepared(statement, [], undefined)
            // @effect/sql begins with a deferred BEGIN; IMMEDIATE takes the write lock before the first read, so
            // what the body reads cannot change before it writes, and waiting happens here, not mid-transaction.
            yield* execute("BEGIN IMMEDIATE")
            const exit = yield* Effect.exit(
              restore(Effect.provideService(body, SqlClient.TransactionConnection, [connection, 0]))
            )
            if (Exit.isSuccess(exit)) {
              const committed = yield* Effect.exit(execute("COMMIT"))
              if (Exit.isSuccess(committed)) return exit.value
              yield* Effect.ignore(execute("ROLLBACK"))
              return yield* Effect.failCause(committed.cause)
            }
            // SQLite may have rolled back already (after SQLITE_FULL, say), so a failing ROLLBACK is expected.
            yield* Effect.ignore(execute("ROLLBACK"))
            return yield* exit
          })
        )
      )

    yield* onSqlError(
      filename,
      Effect.gen(function* () {
        yield* sql.unsafe(`PRAGMA busy_timeout = ${busyWait}`)
        const seen = yield* retryBusy(inspect(sql))
        yield* refuseForeign(filename, seen)
        // Only a file SQLite has not written yet takes it (switching to WAL writes its header): pages that
        // compaction frees are then given back (`incremental_vacuum`); older files reuse them for appends.
        if (seen.tables.length === 0) yield* retryBusy(sql.unsafe("PRAGMA auto_vacuum = INCREMENTAL"))
        const [mode] = yield* retryBusy(sql.unsafe<{ journal_mode: string }>("PRAGMA journal_mode = WAL"))
        if (mode?.journal_mode !== "wal") {
          return yield* new CannotOpenDatabase({
            filename,
            reason: `SQLite could not switch it to WAL mode (it stayed in ${mode?.journal_mode} mode)`,
            hint: "Put the file on a local file system; network file systems do not support WAL"
          })
        }
        yield* sql.unsafe(`PRAGMA synchronous = ${synchronous}`)
        // A file already at this version needs no write lock to open: a reader (`tessera status`) must
        // not wait for a writer that holds the lock, which WAL lets it read beside.
        const current = yield* retryBusy(versionOf(sql, seen))
        if (current > Migrations.LATEST) {
          return yield* new DatabaseTooNew({ filename, version: current, supported: Migrations.LATEST })
        }
        if (current === Migrations.LATEST) return
        yield* retryBusy(
          writeTransaction(
            Effect.gen(function* () {
              // Checked again under the lock: another process may have set the file up since.
              const found = yield* inspect(sql)
              yield* refuseForeign(filename, found)
              const version = yield* versionOf(sql, found)
              if (version > Migrations.LATEST) {
                return yield* new DatabaseTooNew({ filename, version, supported: Migrations.LATEST })
              }
              if (version < Migrations.LATEST) {
                yield* Effect.provideService(Migrations.run(), SqlClient.SqlClient, sql)
                yield* sql.unsafe(`PRAGMA user_version = ${Migrations.LATEST}`)
              }
            }).pipe(
              Effect.catchTag("MigrationError", (error) =>
                Effect.die(new Error(`migrating ${filename} failed: ${error.message}`))
              ),
              Effect.catchAllDefect((defect) =>
                isMigrationError(defect) && defect.cause instanceof SqlError
                  ? Effect.fail(defect.cause)
                  : Effect.die(defect)
              )
            )
          )
        )
      })
    )
    const connect = (readonly: boolean) =>
      Effect.acquireRelease(
        Effect.try({
          try: () => {
            const connection = new BetterSqlite3(file, { timeout: busyWait, readonly })
            // The IN-lists and unions of the hot path build small transient tables: in a temp file (the
            // build's default) each costs a file's open and close, several times the query itself.
            connection.pragma("temp_store = MEMORY")
            if (!readonly) connection.pragma(`synchronous = ${synchronous}`)
            return connection
          },
          catch: (cause) => openError(filename, new SqlError({ cause, message: "Failed to open the database file" }))
        }),
        (connection) => Effect.sync(() => connection.close())
      )
    const writer = yield* connect(false)
    const reader = yield* connect(true)
    return { sql, writer, reader, filename, retryBusy }
  })
