/**
 * Why a SQLite file could not become a Tessera log, each with what to do about it. Every refusal
 * happens before Tessera writes a byte, so the file is left exactly as it was found.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { EventLog } from "@tessera/core"
import { Schema } from "effect"

const untouched = "Tessera did not modify it"

/** The path cannot be opened as a file: a missing or unwritable directory, a directory in its place, an I/O error. */
export class CannotOpenDatabase extends Schema.TaggedError<CannotOpenDatabase>()("CannotOpenDatabase", {
  filename: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `cannot open the Tessera log ${this.filename}: ${this.reason}. ${this.hint}`
  }
}

/** The file (or its directory, where SQLite keeps the `-wal` and `-shm` files) cannot be written by this process. */
export class DatabaseReadOnly extends Schema.TaggedError<DatabaseReadOnly>()("DatabaseReadOnly", {
  filename: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `the Tessera log ${this.filename} is read-only for this process (${this.reason}). Give this user write ` +
      `permission on the file and on its directory (SQLite writes ${this.filename}-wal and -shm beside it), ` +
      `or copy the file somewhere writable and point the store there`
    )
  }
}

/** The file is not a SQLite database at all (another format, encrypted, or its header is destroyed). */
export class NotADatabase extends Schema.TaggedError<NotADatabase>()("NotADatabase", {
  filename: Schema.String
}) {
  override get message(): string {
    return (
      `${this.filename} is not a SQLite database (another file format, encrypted, or a destroyed header); ` +
      `${untouched}. Point the store at a new path such as .tessera/events.db, or restore the file from a backup`
    )
  }
}

/** SQLite reports the file as damaged. */
export class DatabaseCorrupt extends Schema.TaggedError<DatabaseCorrupt>()("DatabaseCorrupt", {
  filename: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `the Tessera log ${this.filename} is damaged (${this.reason}); ${untouched}. Stop every process using it, ` +
      `check it with \`sqlite3 ${this.filename} "PRAGMA integrity_check"\`, then restore it from a backup ` +
      `or salvage it with \`sqlite3 ${this.filename} .recover\``
    )
  }
}

/** A SQLite database that belongs to another program. */
export class ForeignDatabase extends Schema.TaggedError<ForeignDatabase>()("ForeignDatabase", {
  filename: Schema.String,
  found: Schema.String
}) {
  override get message(): string {
    return (
      `${this.filename} is a SQLite database of another program (${this.found}); ${untouched}. ` +
      `Tessera keeps its log in a file of its own: point the store at a new path such as .tessera/events.db`
    )
  }
}

/** The file was written by a newer @tessera/store-sqlite whose schema this version does not know. */
export class DatabaseTooNew extends Schema.TaggedError<DatabaseTooNew>()("DatabaseTooNew", {
  filename: Schema.String,
  version: Schema.Number,
  supported: Schema.Number
}) {
  override get message(): string {
    return (
      `the Tessera log ${this.filename} has schema version ${this.version}, written by a newer ` +
      `@tessera/store-sqlite; this one knows versions up to ${this.supported}. ${untouched}. ` +
      `Upgrade @tessera/store-sqlite (every process sharing the file needs the newer version)`
    )
  }
}

/** Everything opening the store can fail with. */
export type SqliteOpenError =
  | CannotOpenDatabase
  | DatabaseReadOnly
  | NotADatabase
  | DatabaseCorrupt
  | ForeignDatabase
  | DatabaseTooNew
  | EventLog.StoreError

/** SQLite's result code (`SQLITE_BUSY`, `SQLITE_CORRUPT`, ...) behind an error of better-sqlite3, if any. */
export const codeOf = (error: unknown): string | undefined => {
  const cause = typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined
  return typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined
}

const causeMessage = (error: SqlError): string =>
  error.cause instanceof Error ? error.cause.message : String(error.cause ?? error.message)

/** Another connection holds the lock: worth waiting and trying again. */
export const isBusy = (error: unknown): boolean => {
  const code = codeOf(error)
  return code !== undefined && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
}

/** What a failed statement means for the user, in words they can act on. */
export const reasonOf = (error: SqlError, filename: string): string => {
  const code = codeOf(error) ?? ""
  const detail = causeMessage(error)
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
    return `another process held the write lock on ${filename} for too long (${detail}); raise busyTimeout or find the process that keeps a transaction open`
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB")
    return `${filename} is damaged (${detail}); stop every process using it and restore it from a backup`
  if (code.startsWith("SQLITE_READONLY"))
    return `${filename} became read-only (${detail}); restore write permission on the file and its directory`
  if (code === "SQLITE_FULL") return `the disk holding ${filename} is full (${detail}); free space and retry`
  if (code.startsWith("SQLITE_IOERR")) return `an I/O error on ${filename} (${detail}); check the disk and retry`
  return detail
}

export const storeError =
  (operation: string, filename: string) =>
  (error: SqlError): EventLog.StoreError =>
    new EventLog.StoreError({ store: "sqlite", operation, reason: reasonOf(error, filename), cause: error })

/** A failure while opening the file, as the refusal it stands for. */
export const openError = (filename: string, error: SqlError): SqliteOpenError => {
  const code = codeOf(error) ?? ""
  if (code === "SQLITE_NOTADB") return new NotADatabase({ filename })
  if (code.startsWith("SQLITE_CORRUPT")) return new DatabaseCorrupt({ filename, reason: causeMessage(error) })
  if (code.startsWith("SQLITE_READONLY")) return new DatabaseReadOnly({ filename, reason: causeMessage(error) })
  if (code.startsWith("SQLITE_CANTOPEN") || code === "SQLITE_PERM" || code === "SQLITE_AUTH")
    return new CannotOpenDatabase({
      filename,
      reason: causeMessage(error),
      hint: "Check that the path names a file this user can read and write, in a directory it can write",
      cause: error
    })
  return storeError("open", filename)(error)
}
