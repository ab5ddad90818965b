/**
 * @tessera/store-sqlite: Tessera's embedded default store, the build event log in one SQLite file
 * that the processes of one machine can share.
 */
export * as SqliteCompactor from "./SqliteCompactor.js"
export * as SqliteEventLog from "./SqliteEventLog.js"
export * as SqliteMigrations from "./Migrations.js"
export {
  CannotOpenDatabase,
  DatabaseCorrupt,
  DatabaseReadOnly,
  DatabaseTooNew,
  ForeignDatabase,
  NotADatabase,
  type SqliteOpenError
} from "./Errors.js"
