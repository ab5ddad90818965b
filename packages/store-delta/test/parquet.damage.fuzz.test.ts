/**
 * Damaged Parquet footers: every read of a data file with a damaged footer ends in a typed error (or,
 * where the damage missed everything the read needs, in rows), never a defect and never an error
 * escaping the read as an unhandled rejection. (The rejection that did escape, `thrift unhandled type`,
 * needs a chunk of an unknown column beside chunks whose pages fail; `checkpoint.fuzz.test.ts` hits it
 * every run without the reader's footer check.) Damage inside the pages is left out: hyparquet's level
 * decoder writes a damaged run past its array's end, which can grow it until V8 aborts the process
 * (a fatal error no JavaScript can catch; see the package README).
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as NodeFs from "node:fs/promises"
import { append, countRows, createTable, loadSnapshot, readAll, readArrow, type StructType } from "../src/index.js"
import { readParquetRows } from "../src/reader/Parquet.js"
import { sampleRows, sampleSchema, tempDir } from "./helpers.js"

/** The sample columns plus nested ones, so a footer names chunks at several depths, as a checkpoint's does. */
const schema: StructType = {
  type: "struct",
  fields: [
    ...sampleSchema.fields.filter((field) => field.name !== "day"),
    {
      name: "nested",
      type: {
        type: "struct",
        fields: [
          { name: "a", type: "long", nullable: true, metadata: {} },
          {
            name: "tags",
            type: { type: "array", elementType: "string", containsNull: true },
            nullable: true,
            metadata: {}
          }
        ]
      },
      nullable: true,
      metadata: {}
    }
  ]
}

const rows = (from: number, count: number) =>
  sampleRows(from, count).map(({ day: _day, ...row }, i) => ({
    ...row,
    nested: { a: BigInt(from + i), tags: [`t${i}`, null] }
  }))

const typedErrors = new Set(["DeltaIOError", "CorruptDeletionVector", "DeltaProtocolError"])

describe("damaged parquet fuzz", () => {
  it.scopedLive("damaged footers fail the read with a typed error, never an unhandled rejection", () =>
    Effect.gen(function* () {
      const unhandled: Array<unknown> = []
      const onUnhandled = (reason: unknown) => unhandled.push(reason)
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("unhandledRejection", onUnhandled)),
        () => Effect.sync(() => process.off("unhandledRejection", onUnhandled))
      )
      const path = yield* tempDir
      yield* createTable(path, { schema })
      yield* append(path, rows(0, 40))
      yield* append(path, rows(40, 3))
      const snapshot = yield* loadSnapshot(path)
      let seed = 11
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31
        return seed / 2 ** 31
      }
      const tags: Record<string, number> = {}
      for (const file of snapshot.files) {
        const original = new Uint8Array(yield* Effect.promise(() => NodeFs.readFile(file.absolutePath)))
        const footerLength = new DataView(original.buffer).getUint32(original.length - 8, true)
        for (let trial = 0; trial < 90; trial++) {
          const damaged = Uint8Array.from(original)
          const start = original.length - 8 - footerLength
          if (trial % 3 === 0) {
            // A few bytes of the footer's thrift flipped.
            for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
              damaged[start + Math.floor(random() * footerLength)]! ^= 1 + Math.floor(random() * 255)
            }
          } else if (trial % 3 === 1) {
            // One letter of a column chunk's path changed: a chunk of a column the schema does not hold.
            const names = ["element", "tags", "note", "seq"].flatMap((name) => {
              const at = Buffer.from(damaged).lastIndexOf(name)
              return at > start ? [at] : []
            })
            damaged[names[Math.floor(random() * names.length)]!]! ^= 0x20
          } else {
            // The footer's length field wrong.
            new DataView(damaged.buffer).setUint32(damaged.length - 8, Math.floor(random() * original.length), true)
          }
          yield* Effect.promise(() => NodeFs.writeFile(file.absolutePath, damaged))
          // Every column chunk, as checkpoints and the event log read theirs, and projections, as table reads do.
          const reads = [
            readParquetRows(file.absolutePath),
            readAll(snapshot),
            readArrow(snapshot),
            countRows(snapshot)
          ]
          for (const read of reads) {
            const exit = yield* Effect.exit(read as Effect.Effect<unknown, { readonly _tag: string }>)
            if (Exit.isFailure(exit)) {
              expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
              const failure = Cause.failureOption(exit.cause)
              expect(failure._tag).toBe("Some")
              if (failure._tag === "Some") {
                expect(typedErrors).toContain(failure.value._tag)
                tags[failure.value._tag] = (tags[failure.value._tag] ?? 0) + 1
              }
            }
          }
        }
        yield* Effect.promise(() => NodeFs.writeFile(file.absolutePath, original))
      }
      // Reads that started column chunks and failed have settled by now; give their callbacks a turn.
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      expect(tags.DeltaIOError ?? 0).toBeGreaterThan(0)
      expect(unhandled.map(String)).toEqual([])
      expect(yield* readAll(snapshot)).toHaveLength(43)
    })
  )
})
