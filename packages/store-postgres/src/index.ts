/**
 * @tessera/store-postgres: the build event log on PostgreSQL, shared by many processes and machines.
 */
export * as Migrations from "./Migrations.js"
export * as PgEventLog from "./PgEventLog.js"
export * as PgJobQueue from "./PgJobQueue.js"
export * as PgStore from "./PgStore.js"
