/**
 * Deterministic sample data: one CSV of orders per day, the same bytes for the same day on every
 * machine, with a few broken rows for the cleaning job to drop.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export const REGIONS = ["north", "south", "east", "west"] as const
export const PRODUCTS = ["apples", "pears", "plums", "figs", "dates"] as const
export const HEADER = "order_id,date,region,product,units,unit_price"

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence everywhere. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** "2026-11-01" + n days. */
export const addDays = (date: string, n: number): string => {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + n)
  return d.toISOString().slice(0, 10)
}

/** Every date from `from` to `to`, both included. */
export const dateRange = (from: string, to: string): Array<string> => {
  const out: Array<string> = []
  for (let date = from; date <= to; date = addDays(date, 1)) out.push(date)
  return out
}

export const rawCsv = (date: string): string => {
  const next = random(Number(date.replaceAll("-", "")))
  const rows = [HEADER]
  const orders = 40 + Math.floor(next() * 40)
  for (let i = 0; i < orders; i++) {
    const region = REGIONS[Math.floor(next() * REGIONS.length)]!
    const product = PRODUCTS[Math.floor(next() * PRODUCTS.length)]!
    const units = 1 + Math.floor(next() * 20)
    const price = (0.5 + next() * 4).toFixed(2)
    const broken = next() < 0.05
    // Real exports have holes: a missing unit count, a negative one from a refund booked as a sale.
    const shownUnits = broken ? (next() < 0.5 ? "" : String(-units)) : String(units)
    rows.push(`${date}-${String(i).padStart(4, "0")},${date},${region},${product},${shownUnits},${price}`)
  }
  return `${rows.join("\n")}\n`
}

/** Writes the raw CSV of each date under `dir`, returning the files. Rewriting gives the same bytes. */
export const writeRaw = (dir: string, dates: ReadonlyArray<string>): Array<{ date: string; file: string }> => {
  fs.mkdirSync(dir, { recursive: true })
  return dates.map((date) => {
    const file = path.join(dir, `${date}.csv`)
    const content = rawCsv(date)
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== content) fs.writeFileSync(file, content)
    return { date, file }
  })
}
