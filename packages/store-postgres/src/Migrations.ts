/**
 * The store's tables, created and upgraded by numbered migrations through `@effect/sql`'s Migrator.
 * Every table lives in one PostgreSQL schema, so several logs can share a database.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Option, Schema } from "effect"

/** The table the Migrator records applied migrations in, inside the log's schema. */
export const MIGRATIONS_TABLE = "tessera_migrations"

/** Advisory lock namespaces (the first key of the two-key form); the second key is the schema's hash. */
export const LOCK_MIGRATE = 0x74657301
export const LOCK_APPEND = 0x74657302
export const LOCK_QUEUE = 0x74657303

/**
 * Text columns the views are ordered by use the "C" collation: byte order, which is JavaScript's
 * string order for ASCII keys, and lets btree indexes serve `LIKE 'prefix%'`.
 */
const createLog = (schema: string) => `
CREATE TABLE "${schema}".events (
  seq bigint PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  "timestamp" bigint NOT NULL,
  occurred_at timestamptz GENERATED ALWAYS AS (to_timestamp("timestamp" / 1000.0)) STORED,
  build_request_id text NOT NULL,
  kind text NOT NULL,
  partition_ref text COLLATE "C",
  job_run_id text,
  payload text NOT NULL
);
CREATE INDEX events_build_request_id ON "${schema}".events (build_request_id, seq);
CREATE INDEX events_partition_ref ON "${schema}".events (partition_ref, seq) WHERE partition_ref IS NOT NULL;
CREATE INDEX events_job_run_id ON "${schema}".events (job_run_id, seq) WHERE job_run_id IS NOT NULL;
CREATE INDEX events_kind ON "${schema}".events (kind, seq);
CREATE INDEX events_timestamp ON "${schema}".events ("timestamp");

CREATE TABLE "${schema}".partitions (
  ref text COLLATE "C" PRIMARY KEY,
  status text NOT NULL,
  data text NOT NULL
);
CREATE INDEX partitions_status ON "${schema}".partitions (status, ref);

CREATE TABLE "${schema}".job_runs (
  job_run_id text COLLATE "C" PRIMARY KEY,
  build_request_id text NOT NULL,
  job_name text NOT NULL,
  status text NOT NULL,
  data text NOT NULL
);
CREATE INDEX job_runs_build_request_id ON "${schema}".job_runs (build_request_id, job_run_id);
CREATE INDEX job_runs_job_name ON "${schema}".job_runs (job_name, job_run_id);
CREATE INDEX job_runs_status ON "${schema}".job_runs (status, job_run_id);

CREATE TABLE "${schema}".build_requests (
  build_request_id text COLLATE "C" PRIMARY KEY,
  status text NOT NULL,
  data text NOT NULL
);
CREATE INDEX build_requests_status ON "${schema}".build_requests (status, build_request_id);
`

/**
 * The distributed workers' queue. `job_queue` holds one row per run of a build requested with the
 * workers executor; `pending` counts its dependencies not finished yet, whose keys wait in
 * `job_queue_deps` until they finish; `job_queue_builds` counts each build's unfinished runs, so a
 * finish knows in one row whether it completed the build. Claims scan the partial index on `id`
 * (enqueue order) over the rows that can be claimed at all.
 */
const createQueue = (schema: string) => `
CREATE TABLE "${schema}".job_queue (
  id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  build_request_id text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  run text NOT NULL,
  status text NOT NULL,
  pending integer NOT NULL,
  worker text,
  lease_until timestamptz,
  finished_by text,
  upstream_failed_ref text,
  upstream_failed_reason text,
  failure_ref text,
  failure_reason text,
  PRIMARY KEY (build_request_id, key)
);
CREATE INDEX job_queue_claimable ON "${schema}".job_queue (id) WHERE status IN ('ready', 'running');
CREATE INDEX job_queue_failed ON "${schema}".job_queue (build_request_id, id) WHERE status = 'failed';

CREATE TABLE "${schema}".job_queue_deps (
  build_request_id text COLLATE "C" NOT NULL,
  dep text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  PRIMARY KEY (build_request_id, dep, key)
);

CREATE TABLE "${schema}".job_queue_builds (
  build_request_id text COLLATE "C" PRIMARY KEY,
  unfinished integer NOT NULL
);
`

/**
 * A group's write as a function on the server, so each connection plans its statements once (PL/pgSQL
 * keeps them prepared) instead of parsing and planning them in every append's message. With a `guard`
 * it writes only if the log's head is still `guard->'head'` (else it answers 'moved') and none of the
 * event ids and rows the guard names exists (else 'taken'); it answers 'written' when it wrote. It
 * takes the rows of each table as JSON, and the channel and payload of its NOTIFY.
 */
const writeFunction = (schema: string) => `
CREATE FUNCTION "${schema}".write_group(guard json, ev json, parts json, runs json, builds json, channel text,
  note text)
RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
  IF guard IS NOT NULL THEN
    -- max(seq), not EXISTS (seq > head): the generic plan PL/pgSQL settles on scanned the table for that.
    -- Any other head, lower too (a restored backup), and what this process knew is not the log.
    IF (SELECT coalesce(max(seq), 0) FROM "${schema}".events) <> (guard->>'head')::int8 THEN
      RETURN 'moved';
    END IF;
    IF EXISTS (SELECT FROM "${schema}".events WHERE event_id = ANY(ARRAY(SELECT json_array_elements_text(guard->'e'))))
      OR EXISTS (SELECT FROM "${schema}".partitions WHERE ref = ANY(ARRAY(SELECT json_array_elements_text(guard->'p'))))
      OR EXISTS (SELECT FROM "${schema}".job_runs WHERE job_run_id = ANY(ARRAY(SELECT json_array_elements_text(guard->'j'))))
      OR EXISTS (SELECT FROM "${schema}".build_requests
        WHERE build_request_id = ANY(ARRAY(SELECT json_array_elements_text(guard->'b')))) THEN
      RETURN 'taken';
    END IF;
  END IF;
  INSERT INTO "${schema}".events (seq, event_id, "timestamp", build_request_id, kind, partition_ref, job_run_id,
    payload, appended_at)
  SELECT x.s, x.i, x.t, x.b, x.k, x.r, x.j, x.p, x.a FROM json_to_recordset(ev)
    AS x(s int8, i text, t int8, b text, k text, r text, j text, p text, a int8);
  INSERT INTO "${schema}".partitions AS t (ref, status, data)
  SELECT x.r, x.s, x.d FROM json_to_recordset(parts) AS x(r text, s text, d text)
  ON CONFLICT (ref) DO UPDATE SET status = excluded.status, data = excluded.data;
  INSERT INTO "${schema}".job_runs AS t (job_run_id, build_request_id, job_name, status, data, inputs)
  SELECT x.i, x.b, x.n, x.s, x.d, ARRAY(SELECT json_array_elements_text(x."in"))
    FROM json_to_recordset(runs) AS x(i text, b text, n text, s text, d text, "in" json)
  ON CONFLICT (job_run_id) DO UPDATE SET build_request_id = excluded.build_request_id,
    job_name = excluded.job_name, status = excluded.status, data = excluded.data, inputs = excluded.inputs;
  INSERT INTO "${schema}".build_requests AS t (build_request_id, status, data)
  SELECT x.i, x.s, x.d FROM json_to_recordset(builds) AS x(i text, s text, d text)
  ON CONFLICT (build_request_id) DO UPDATE SET status = excluded.status, data = excluded.data;
  PERFORM pg_notify(channel, note);
  RETURN 'written';
END
$fn$`

const migrations = (schema: string): Record<string, Effect.Effect<void, SqlError, SqlClient.SqlClient>> => ({
  "0001_create_log": Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(createLog(schema))),
  "0002_create_job_queue": Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(createQueue(schema))),
  // When each event was appended, by the database's clock: the time its leases were judged at, so
  // lease decisions can be audited from the log. Earlier events get their own timestamp.
  "0003_appended_at": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(`ALTER TABLE "${schema}".events ADD COLUMN appended_at bigint;
      UPDATE "${schema}".events SET appended_at = "timestamp"`)
  ),
  // Which job at which version each run was planned with, so a claim takes only runs its worker's
  // graph can run as planned; and since when each has been claimable, so a run no such worker
  // took is failed after a bound instead of waiting forever. Runs queued earlier have no version.
  "0004_queue_job_versions": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(`ALTER TABLE "${schema}".job_queue ADD COLUMN job_name text, ADD COLUMN job_version text,
        ADD COLUMN ready_since timestamptz NOT NULL DEFAULT clock_timestamp();
      UPDATE "${schema}".job_queue SET job_name = run::jsonb->>'jobName'`)
  ),
  // Which partitions each run read, indexed, so `invalidate` finds what was built from a partition
  // in time proportional to the chain it invalidates rather than to the log.
  "0005_job_run_inputs": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(`ALTER TABLE "${schema}".job_runs ADD COLUMN inputs text[] NOT NULL DEFAULT '{}';
      UPDATE "${schema}".job_runs SET inputs = ARRAY(SELECT jsonb_array_elements_text(data::jsonb->'inputs'));
      CREATE INDEX job_runs_inputs ON "${schema}".job_runs USING gin (inputs)`)
  ),
  // What compaction did to the log (one row): how far, how many chunks went to an archive, and the
  // chunk written to an archive but not yet deleted here, so a crash between the two finishes later.
  "0006_compaction": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(`CREATE TABLE "${schema}".compaction (
        id integer PRIMARY KEY CHECK (id = 1),
        log_id text NOT NULL,
        through bigint NOT NULL,
        chunks bigint NOT NULL,
        removed bigint NOT NULL,
        pending text
      );
      INSERT INTO "${schema}".compaction VALUES (1, md5(random()::text || clock_timestamp()::text), 0, 0, 0, NULL)`)
  ),
  "0007_write_function": Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(writeFunction(schema)))
})

/** The highest migration this version knows. */
export const LATEST = 7

/** The schema was migrated by a newer @tessera/store-postgres than this process runs. */
export class SchemaTooNew extends Schema.TaggedError<SchemaTooNew>()("SchemaTooNew", {
  schema: Schema.String,
  found: Schema.Number,
  supported: Schema.Number
}) {
  override get message(): string {
    return (
      `PostgreSQL schema "${this.schema}" is at migration ${this.found}, written by a newer @tessera/store-postgres; ` +
      `this one knows migrations up to ${this.supported}. Upgrade @tessera/store-postgres in this process ` +
      `(every process sharing a log must run a version that knows its migrations), or use another schema.`
    )
  }
}

/**
 * Why `schema` cannot hold a log, or undefined when it can. Schema names are interpolated into DDL
 * and channel names, so only plain lower-case identifiers are accepted; PostgreSQL's own schemas
 * and `public` (where the application's tables live) are refused, so the log never mixes with them.
 */
export const schemaNameProblem = (schema: string): string | undefined => {
  if (!/^[a-z_][a-z0-9_]{0,39}$/.test(schema)) {
    return `schema name "${schema}" is not a lower-case identifier of at most 40 characters ([a-z_][a-z0-9_]*)`
  }
  if (schema === "public" || schema === "information_schema" || schema.startsWith("pg_")) {
    return `schema "${schema}" belongs to PostgreSQL or to the application; give the log a schema of its own (the default is "tessera")`
  }
  return undefined
}

/**
 * Brings `schema` to the latest migration. Processes that start at once queue on an advisory lock
 * held for the whole transaction, so exactly one runs the migrations and the others find them done.
 */
export const migrate = (
  schema: string
): Effect.Effect<
  ReadonlyArray<readonly [number, string]>,
  SchemaTooNew | Migrator.MigrationError | SqlError,
  PgClient.PgClient
> =>
  Effect.gen(function* () {
    const sql = yield* PgClient.PgClient
    const table = `${schema}.${MIGRATIONS_TABLE}`
    return yield* sql
      .withTransaction(
        Effect.gen(function* () {
          yield* sql`SELECT pg_advisory_xact_lock(${LOCK_MIGRATE}, hashtext(${schema}))`
          // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists.
          const found = yield* sql`SELECT 1 FROM pg_namespace WHERE nspname = ${schema}`
          if (found.length === 0) yield* sql`CREATE SCHEMA ${sql(schema)}`
          // Created here, under the lock: the Migrator's own check-then-create races between processes.
          yield* sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
          migration_id integer PRIMARY KEY,
          created_at timestamptz NOT NULL DEFAULT now(),
          name text NOT NULL
        )`
          const [latest] = yield* sql<{ readonly id: number }>`SELECT coalesce(max(migration_id), 0)::int4 AS id
          FROM ${sql(table)}`
          const applied = latest?.id ?? 0
          if (applied > LATEST) return yield* new SchemaTooNew({ schema, found: applied, supported: LATEST })
          return yield* Migrator.make({})({ loader: Migrator.fromRecord(migrations(schema)), table })
        })
      )
      .pipe(
        Effect.provideService(SqlClient.SqlClient, sql),
        // A COMMIT or ROLLBACK on a dead connection is a defect in @effect/sql; here it is an error to retry.
        Effect.catchSomeDefect((defect) =>
          defect instanceof SqlError ? Option.some(Effect.fail(defect)) : Option.none()
        )
      )
  })
