/**
 * What every benchmark prints: a table for people and one JSON line for machines. Each row names
 * the raw baseline measured in the same run, so results are ratios that survive a slower machine.
 */
import { Effect } from "effect"

export type Benchmark = (args: ReadonlyArray<string>) => Effect.Effect<void, unknown>

export interface Row {
  /** Stable across runs and machines (`sqlite.append1`), so scripts can follow a result over time. */
  readonly id: string
  readonly case: string
  readonly unit: string
  readonly value: number
  /** The raw driver doing the same work in the same run, in the same unit. */
  readonly baseline?: { readonly name: string; readonly value: number } | undefined
  /** Whether a larger value is better (throughput) or worse (latency, bytes). */
  readonly higherIsBetter: boolean
  /** SQL statements the store ran per job, where the store counts them. */
  readonly statementsPerJob?: number | undefined
  /** Durable commits (fsyncs, WAL flushes) per job, where the store counts them. */
  readonly commitsPerJob?: number | undefined
}

const format = (value: number) => (value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(3))

/** value / baseline for throughput, baseline / value for costs: below 1 means slower than the raw driver. */
export const ratio = (row: Row): number | undefined =>
  row.baseline === undefined
    ? undefined
    : row.higherIsBetter
      ? row.value / row.baseline.value
      : row.baseline.value / row.value

const perJob = (row: Row) =>
  row.statementsPerJob === undefined || row.commitsPerJob === undefined
    ? ""
    : ` [${row.statementsPerJob.toFixed(1)} statements, ${row.commitsPerJob.toFixed(2)} commits per job]`

export const report = (name: string, rows: ReadonlyArray<Row>): Effect.Effect<void> =>
  Effect.sync(() => {
    const table = rows.map((row) => {
      const r = ratio(row)
      return {
        case: `${row.id}  ${row.case}${perJob(row)}`,
        value: `${format(row.value)} ${row.unit}`,
        baseline: row.baseline === undefined ? "" : `${row.baseline.name}: ${format(row.baseline.value)} ${row.unit}`,
        ratio: r === undefined ? "" : `${r.toFixed(2)}x`
      }
    })
    const widths = ["case", "value", "baseline", "ratio"].map((key) =>
      Math.max(key.length, ...table.map((line) => line[key as keyof typeof line].length))
    )
    const line = (cells: ReadonlyArray<string>) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")
    process.stdout.write(`\n${name}\n${line(["case", "value", "baseline", "ratio"])}\n`)
    for (const row of table) process.stdout.write(`${line([row.case, row.value, row.baseline, row.ratio])}\n`)
    const json = rows.map((row) => ({ ...row, ratio: ratio(row) }))
    process.stdout.write(`${JSON.stringify({ bench: name, node: process.version, results: json })}\n`)
  })

/** Runs `body` and returns how long it took in ms. */
export const timed = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<readonly [A, number], E, R> =>
  Effect.gen(function* () {
    const start = performance.now()
    const result = yield* body
    return [result, performance.now() - start] as const
  })

/** The p-th percentile (0..100) of samples. */
export const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/** Events (or jobs) per second, from a count and the ms it took. */
export const perSecond = (count: number, ms: number): number => (count / ms) * 1000

/** `items` in slices of `size`, for batch appends. */
export const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
