/**
 * Raw better-sqlite3, the baseline the SQLite benchmarks measure the store against.
 */
import { createRequire } from "node:module"

export interface RawStatement {
  readonly run: (...params: ReadonlyArray<unknown>) => unknown
  readonly get: (...params: ReadonlyArray<unknown>) => unknown
}

export interface RawDatabase {
  readonly pragma: (source: string) => unknown
  readonly exec: (source: string) => unknown
  readonly prepare: (source: string) => RawStatement
  readonly transaction: <A extends ReadonlyArray<unknown>>(body: (...args: A) => void) => (...args: A) => void
  readonly close: () => void
}

// better-sqlite3 ships no types and the repository has no @types package for it; this is the part used here.
export const RawDatabase = createRequire(import.meta.url)("better-sqlite3") as new (filename: string) => RawDatabase
