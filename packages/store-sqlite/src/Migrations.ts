/**
 * The schema, as numbered migrations. A migration, once released, never changes: a new need is a
 * new number. A file that records a number this list lacks was written by a newer version.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** `PRAGMA application_id` of a Tessera log ("TESS"), so `file(1)` and Tessera itself can tell it from others. */
export const APPLICATION_ID = 0x54455353

/** The migrations table; not Effect's default name, so a log never mixes with another program's migrations. */
export const TABLE = "tessera_migrations"

const statements = (...sql: ReadonlyArray<string>) =>
  Effect.flatMap(SqlClient.SqlClient, (client) => Effect.forEach(sql, (text) => client.unsafe(text), { discard: true }))

export const migrations = {
  // Views keep each row as the JSON the reducer produced, plus the columns the port's queries filter on.
  "1_event_log": statements(
    `PRAGMA application_id = ${APPLICATION_ID}`,
    `CREATE TABLE events (
      seq INTEGER PRIMARY KEY,
      event_id TEXT NOT NULL UNIQUE,
      timestamp INTEGER NOT NULL,
      build_request_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      partition_ref TEXT,
      job_run_id TEXT,
      payload TEXT NOT NULL
    )`,
    `CREATE TABLE partitions (ref TEXT PRIMARY KEY, status TEXT NOT NULL, data TEXT NOT NULL) WITHOUT ROWID`,
    `CREATE TABLE job_runs (
      job_run_id TEXT PRIMARY KEY,
      build_request_id TEXT NOT NULL,
      job_name TEXT NOT NULL,
      status TEXT NOT NULL,
      data TEXT NOT NULL
    ) WITHOUT ROWID`,
    `CREATE TABLE build_requests (build_request_id TEXT PRIMARY KEY, status TEXT NOT NULL, data TEXT NOT NULL) WITHOUT ROWID`
  ),
  // One index per filter of `EventFilter` and per query of `Queries`; seq / key last so pages come out in order.
  "2_query_indexes": statements(
    "CREATE INDEX events_by_build_request ON events (build_request_id, seq)",
    "CREATE INDEX events_by_partition_ref ON events (partition_ref, seq)",
    "CREATE INDEX events_by_job_run ON events (job_run_id, seq)",
    "CREATE INDEX events_by_kind ON events (kind, seq)",
    "CREATE INDEX events_by_timestamp ON events (timestamp, seq)",
    "CREATE INDEX partitions_by_status ON partitions (status, ref)",
    "CREATE INDEX job_runs_by_build_request ON job_runs (build_request_id, job_run_id)",
    "CREATE INDEX job_runs_by_job_name ON job_runs (job_name, job_run_id)",
    "CREATE INDEX job_runs_by_status ON job_runs (status, job_run_id)",
    "CREATE INDEX build_requests_by_status ON build_requests (status, build_request_id)"
  ),
  // When each event was appended, by the appending process's clock: the time its leases were judged
  // at, so lease decisions can be audited from the log. Earlier events get their own timestamp.
  "3_appended_at": statements(
    "ALTER TABLE events ADD COLUMN appended_at INTEGER",
    "UPDATE events SET appended_at = timestamp"
  ),
  // Which runs read which partitions, so `invalidate` finds what was built from a partition by
  // index, in time proportional to the chain it invalidates rather than to the log.
  "4_job_run_inputs": statements(
    "CREATE TABLE job_run_inputs (ref TEXT NOT NULL, job_run_id TEXT NOT NULL, PRIMARY KEY (ref, job_run_id)) WITHOUT ROWID",
    "CREATE INDEX job_run_inputs_by_job_run ON job_run_inputs (job_run_id)",
    `INSERT OR IGNORE INTO job_run_inputs (ref, job_run_id)
      SELECT input.value, job_runs.job_run_id FROM job_runs, json_each(job_runs.data, '$.inputs') AS input`
  ),
  // What compaction did to the log (one row): how far, how many chunks went to an archive, and the
  // chunk written to an archive but not yet deleted here, so a crash between the two finishes later.
  "5_compaction": statements(
    `CREATE TABLE compaction (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      log_id TEXT NOT NULL,
      through INTEGER NOT NULL,
      chunks INTEGER NOT NULL,
      removed INTEGER NOT NULL,
      pending TEXT
    )`,
    "INSERT INTO compaction VALUES (1, lower(hex(randomblob(16))), 0, 0, 0, NULL)"
  )
} satisfies Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>>

/** The schema version this code writes: the highest migration id. */
export const LATEST = Math.max(...Object.keys(migrations).map((key) => Number.parseInt(key, 10)))

/**
 * Applies the migrations this file lacks, up to `upTo`. Run it inside a write transaction that
 * already holds the lock, so processes opening one file at once migrate it exactly once.
 */
export const run = (upTo: number = LATEST) =>
  Migrator.make({})({
    loader: Migrator.fromRecord(
      Object.fromEntries(Object.entries(migrations).filter(([key]) => Number.parseInt(key, 10) <= upTo))
    ),
    table: TABLE
  })
