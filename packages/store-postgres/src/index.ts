/**
 * @tessera/store-postgres: the build event log on PostgreSQL, shared by many processes and machines.
 */
export * as Connection from "./Connection.js"
export * as Migrations from "./Migrations.js"
export * as PgAppend from "./PgAppend.js"
export * as PgCompactor from "./PgCompactor.js"
export * as PgEventLog from "./PgEventLog.js"
export * as PgJobQueue from "./PgJobQueue.js"
export * as PgStore from "./PgStore.js"
export * as Resilience from "./Resilience.js"
