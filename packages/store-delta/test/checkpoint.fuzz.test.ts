/**
 * Checkpoints under random histories and random damage: a checkpointed snapshot always equals the JSON
 * replay of the same log, and a damaged checkpoint is skipped for the commits, never a defect.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option } from "effect"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import {
  append,
  checkpointFileName,
  compact,
  createTable,
  loadSnapshot,
  type Snapshot,
  writeCheckpoint
} from "../src/index.js"
import { sampleRows, sampleSchema, tempDir } from "./helpers.js"

const keyed = (snapshot: Snapshot) => snapshot.files.map((file) => [file.path, file.add.size, file.add.stats]).sort()

describe("checkpoint fuzz", () => {
  it.scoped(
    "random appends and compactions: checkpoint + commits equals the JSON replay; damaged checkpoints fall back",
    () =>
      Effect.gen(function* () {
        let seed = 7
        const random = () => {
          seed = (seed * 1103515245 + 12345) % 2 ** 31
          return seed / 2 ** 31
        }
        for (let round = 0; round < 4; round++) {
          const path = yield* tempDir
          yield* createTable(path, { schema: sampleSchema, partitionColumns: ["day"] })
          const commits = 4 + Math.floor(random() * 8)
          let seq = 0
          for (let i = 0; i < commits; i++) {
            if (random() < 0.25) yield* compact(path, { minFiles: 2, sortBy: "seq" })
            else {
              const count = 1 + Math.floor(random() * 5)
              yield* append(path, sampleRows(seq, count, random() < 0.5 ? "2026-11-01" : "2026-11-02"), {
                checkpointInterval: 1000,
                txn: { appId: `app${Math.floor(random() * 3)}`, version: i }
              })
              seq += count
            }
          }
          const head = yield* loadSnapshot(path)
          const at = Math.floor(random() * head.version) + 1
          yield* writeCheckpoint(yield* loadSnapshot(path, { version: at }))
          const checkpointed = yield* loadSnapshot(path)
          expect(Option.getOrThrow(checkpointed.checkpointVersion)).toBe(at)
          expect(keyed(checkpointed)).toEqual(keyed(head))
          expect([...checkpointed.appTransactions]).toEqual([...head.appTransactions])
          expect(checkpointed.tombstones.length).toBe(head.tombstones.length)
          // Damage the checkpoint: flipped bytes, or cut short.
          const file = Path.join(path, "_delta_log", checkpointFileName(at))
          const bytes = new Uint8Array(yield* Effect.promise(() => NodeFs.readFile(file)))
          for (let trial = 0; trial < 8; trial++) {
            const damaged = Uint8Array.from(bytes)
            if (trial % 2 === 0) {
              for (let flips = 0; flips < 4; flips++) damaged[Math.floor(random() * damaged.length)] ^= 0xff
            }
            const cut = trial % 2 === 1 ? damaged.subarray(0, Math.floor(random() * damaged.length)) : damaged
            yield* Effect.promise(() => NodeFs.writeFile(file, cut))
            const exit = yield* Effect.exit(loadSnapshot(path))
            // Either the damage missed what a snapshot reads, or the checkpoint is skipped: the same table.
            if (Exit.isFailure(exit)) expect(exit.cause._tag).toBe("Fail")
            else expect(keyed(exit.value)).toEqual(keyed(head))
          }
        }
      })
  )
})
