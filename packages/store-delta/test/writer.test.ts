import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import {
  append,
  compact,
  createTable,
  loadSnapshot,
  pruneFiles,
  readAll,
  vacuum,
  writeCheckpoint
} from "../src/index.js"
import { checkLog } from "./logChecker.js"
import { bySeq, sampleRow, sampleRows, sampleSchema, tempDir } from "./helpers.js"

const create = (path: string, configuration: Record<string, string> = {}) =>
  createTable(path, { schema: sampleSchema, partitionColumns: ["day"], configuration })

describe("writer", () => {
  it.scoped("creates, appends and reads back every type", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      const first = yield* append(path, sampleRows(0, 5))
      const second = yield* append(path, [...sampleRows(5, 3, "2026-11-02"), ...sampleRows(8, 2)])
      expect(Option.getOrThrow(first.version)).toBe(1)
      expect(Option.getOrThrow(second.version)).toBe(2)
      expect(second.files.length).toBe(2)
      const snapshot = yield* loadSnapshot(path)
      expect(snapshot.version).toBe(2)
      expect(snapshot.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 })
      const rows = bySeq(yield* readAll(snapshot))
      expect(rows).toEqual([...sampleRows(0, 5), ...sampleRows(5, 3, "2026-11-02"), ...sampleRows(8, 2)])
      yield* checkLog(path)
    })
  )

  it.scoped("creating twice with the same schema reuses the table; a different schema is refused", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      const again = yield* create(path)
      expect(again.version).toBe(0)
      const error = yield* Effect.flip(createTable(path, { schema: sampleSchema }))
      expect(error._tag).toBe("DeltaProtocolError")
    })
  )

  it.scoped("a txn makes appends idempotent", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      const txn = { appId: "loader", version: 1 }
      expect(Option.isSome((yield* append(path, sampleRows(0, 2), { txn })).version)).toBe(true)
      const retried = yield* append(path, sampleRows(0, 2), { txn })
      expect(Option.isNone(retried.version)).toBe(true)
      const snapshot = yield* loadSnapshot(path)
      expect(snapshot.appTransactions.get("loader")?.version).toBe(1)
      expect((yield* readAll(snapshot)).length).toBe(2)
    })
  )

  it.scoped("rows that do not fit the schema are refused and nothing is committed", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      const error = yield* Effect.flip(append(path, [{ ...sampleRow(1), seq: "one" }]))
      expect(error._tag).toBe("InvalidRows")
      expect(error.message).toContain('"seq"')
      expect((yield* loadSnapshot(path)).version).toBe(0)
    })
  )

  it.scoped("checkpoints every N commits and a checkpointed snapshot equals a JSON replay", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      for (let i = 0; i < 7; i++)
        yield* append(path, sampleRows(i * 3, 3), { checkpointInterval: 3, txn: { appId: "a", version: i } })
      const hint = JSON.parse(
        yield* Effect.promise(() => NodeFs.readFile(Path.join(path, "_delta_log/_last_checkpoint"), "utf8"))
      )
      expect(hint.version).toBe(6)
      const snapshot = yield* loadSnapshot(path)
      expect(Option.getOrThrow(snapshot.checkpointVersion)).toBe(6)
      // The same log without its checkpoints must replay to the same state.
      const copy = yield* tempDir
      yield* Effect.promise(() => NodeFs.cp(path, copy, { recursive: true }))
      for (const name of yield* Effect.promise(() => NodeFs.readdir(Path.join(copy, "_delta_log")))) {
        if (name.includes("checkpoint")) yield* Effect.promise(() => NodeFs.rm(Path.join(copy, "_delta_log", name)))
      }
      const replayed = yield* loadSnapshot(copy)
      expect(Option.isNone(replayed.checkpointVersion)).toBe(true)
      const keyed = (s: typeof snapshot) => s.files.map((file) => [file.path, file.add.size, file.add.stats]).sort()
      expect(keyed(snapshot)).toEqual(keyed(replayed))
      expect(snapshot.appTransactions.get("a")?.version).toBe(6)
      expect(snapshot.metadata).toEqual(replayed.metadata)
      expect(bySeq(yield* readAll(snapshot))).toEqual(bySeq(yield* readAll(replayed)))
      yield* checkLog(path)
    })
  )

  it.scoped("add stats skip files when reading", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      for (let i = 0; i < 5; i++) yield* append(path, sampleRows(i * 10, 10))
      const snapshot = yield* loadSnapshot(path)
      const where = [{ column: "seq", min: 25n, max: 34n }]
      expect(pruneFiles(snapshot, where).length).toBe(2)
      const rows = yield* readAll(snapshot, { where, columns: ["seq", "day"] })
      expect(bySeq(rows).map((row) => row.seq)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(25 + i)))
      expect(pruneFiles(snapshot, [{ column: "day", min: "2026-11-02" }]).length).toBe(0)
      const at = new Date(Date.UTC(2026, 10, 1, 12, 0, 0, 45))
      expect(pruneFiles(snapshot, [{ column: "at", min: at }]).length).toBe(1)
      expect(pruneFiles(snapshot, [{ column: "id", max: "id-000009" }]).length).toBe(1)
    })
  )

  it.scoped("compaction rewrites small files with dataChange false, vacuum deletes the originals", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      for (let i = 0; i < 12; i++) yield* append(path, sampleRows(i * 2, 2))
      const before = bySeq(yield* readAll(yield* loadSnapshot(path)))
      const result = yield* compact(path, { minFiles: 10, sortBy: "seq" })
      expect(result.removed).toBe(12)
      const snapshot = yield* loadSnapshot(path)
      expect(snapshot.files.length).toBe(1)
      expect(snapshot.files[0]!.add.dataChange).toBe(false)
      expect(bySeq(yield* readAll(snapshot))).toEqual(before)
      expect((yield* vacuum(path)).deleted).toEqual([])
      const vacuumed = yield* vacuum(path, { retentionMs: 0, now: Date.now() + 1000 })
      expect(vacuumed.deleted.length).toBe(12)
      expect(bySeq(yield* readAll(yield* loadSnapshot(path)))).toEqual(before)
      yield* checkLog(path)
    })
  )

  it.scoped("a truncated or garbage commit is a CorruptCommit naming the version", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      yield* append(path, sampleRows(0, 2))
      const commit = Path.join(path, "_delta_log", "00000000000000000001.json")
      const text = yield* Effect.promise(() => NodeFs.readFile(commit, "utf8"))
      yield* Effect.promise(() => NodeFs.writeFile(commit, text.slice(0, text.length - 20)))
      const truncated = yield* Effect.flip(loadSnapshot(path))
      expect(truncated._tag === "CorruptCommit" && truncated.version).toBe(1)
      yield* Effect.promise(() => NodeFs.writeFile(commit, "\u0000\u0001garbage"))
      const garbage = yield* Effect.flip(loadSnapshot(path))
      expect(garbage._tag === "CorruptCommit" && garbage.version).toBe(1)
      expect(garbage.message).toContain("00000000000000000001.json")
      yield* Effect.promise(() => NodeFs.writeFile(commit, ""))
      expect((yield* Effect.flip(loadSnapshot(path)))._tag).toBe("CorruptCommit")
      // The snapshot before the damage still loads.
      expect((yield* loadSnapshot(path, { version: 0 })).files.length).toBe(0)
    })
  )

  it.scoped("refuses to write to tables that need newer writer features", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      const log = Path.join(path, "_delta_log")
      const commit1 = (actions: ReadonlyArray<Record<string, unknown>>) =>
        Effect.promise(() =>
          NodeFs.writeFile(
            Path.join(log, "00000000000000000001.json"),
            actions.map((action) => `${JSON.stringify(action)}\n`).join("")
          )
        )
      // Identity columns (writer 6): their values are the writer's to generate.
      yield* commit1([{ protocol: { minReaderVersion: 1, minWriterVersion: 6 } }])
      const error = yield* Effect.flip(append(path, sampleRows(0, 1)))
      expect(error._tag).toBe("UnsupportedFeature")
      expect(error.message).toContain("writerVersion6")
      // Writer 3 to 5 only where no constraint or generation expression is defined.
      const snapshot = yield* loadSnapshot(path, { version: 0 })
      const constrained = { ...snapshot.metadata, configuration: { "delta.constraints.positive": "count > 0" } }
      yield* commit1([{ protocol: { minReaderVersion: 1, minWriterVersion: 3 } }, { metaData: constrained }])
      const refused = yield* Effect.flip(append(path, sampleRows(0, 1)))
      expect(refused._tag === "UnsupportedFeature" && refused.feature).toBe("checkConstraints")
      expect(refused.message).toContain("delta.constraints.positive")
      const generated = {
        ...snapshot.metadata,
        schemaString: JSON.stringify({
          ...sampleSchema,
          fields: sampleSchema.fields.map((field) =>
            field.name === "note" ? { ...field, metadata: { "delta.generationExpression": "upper(id)" } } : field
          )
        })
      }
      yield* commit1([{ protocol: { minReaderVersion: 1, minWriterVersion: 4 } }, { metaData: generated }])
      const noGenerated = yield* Effect.flip(append(path, sampleRows(0, 1)))
      expect(noGenerated._tag === "UnsupportedFeature" && noGenerated.feature).toBe("generatedColumns")
      yield* commit1([{ protocol: { minReaderVersion: 1, minWriterVersion: 4 } }])
      yield* append(path, sampleRows(0, 1))
      expect((yield* readAll(yield* loadSnapshot(path))).length).toBe(1)
    })
  )

  it.scoped("writeCheckpoint at an older version leaves a readable table", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* create(path)
      yield* append(path, sampleRows(0, 3))
      yield* writeCheckpoint(yield* loadSnapshot(path))
      yield* append(path, sampleRows(3, 3))
      const snapshot = yield* loadSnapshot(path)
      expect(Option.getOrThrow(snapshot.checkpointVersion)).toBe(1)
      expect((yield* readAll(snapshot)).length).toBe(6)
    })
  )
})
