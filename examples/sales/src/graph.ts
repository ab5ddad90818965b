/**
 * The sales pipeline:
 *
 *   raw/date=D      source: the day's CSV export, registered when the file arrives
 *   clean/date=D    raw rows with holes dropped          output/clean/date=D.csv
 *   daily/date=D    revenue and units per region/product output/daily/date=D.json
 *   weekly/end=D    the trailing 7 days, D-6 .. D        output/weekly/end=D.md
 *
 * Outputs go under $SALES_OUTPUT, or ./output of the working directory.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Graph, Job, type Manifest, pattern } from "@tessera/core"
import { Effect } from "effect"
import { addDays, HEADER } from "./data.js"

export interface Options {
  /** Where the jobs write; read when a job runs, so the same module serves every run. */
  readonly outputDir: () => string
}

const raw = pattern("raw/date={date}")
const clean = pattern("clean/date={date}")
const daily = pattern("daily/date={date}")
const weekly = pattern("weekly/end={date}")

const dateOf = (ref: string) => ref.slice(ref.lastIndexOf("=") + 1)

/** Writes `content` to `file` through a temporary file, so a crash never leaves half a file behind. */
const writeAtomic = (file: string, content: string) =>
  Effect.try(() => {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(`${file}.tmp`, content)
    fs.renameSync(`${file}.tmp`, file)
  })

const read = (file: string) => Effect.try(() => fs.readFileSync(file, "utf8"))

/** Where an input is, from the manifest its producer (or its registration) recorded. */
const pathOf = (manifests: ReadonlyMap<string, Manifest.Manifest>, ref: string) => {
  const value = manifests.get(ref)?.path
  return typeof value === "string"
    ? Effect.succeed(value)
    : Effect.fail(new Error(`${ref} has no path in its manifest`))
}

interface Totals {
  readonly [regionProduct: string]: { readonly units: number; readonly revenue: number }
}

export const make = (options: Options): Graph.Graph =>
  Graph.make([
    Job.make({
      name: "clean",
      outputs: [clean],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [`raw/date=${dateOf(ref)}`] })),
      run: (ctx) =>
        Effect.gen(function* () {
          const date = dateOf(ctx.outputs[0]!)
          const lines = (yield* read(yield* pathOf(ctx.inputManifests, ctx.inputs[0]!))).trim().split("\n").slice(1)
          const kept = lines.filter((line) => {
            const units = line.split(",")[4] ?? ""
            return /^\d+$/.test(units) && Number(units) > 0
          })
          const file = path.join(options.outputDir(), "clean", `date=${date}.csv`)
          yield* writeAtomic(file, [HEADER, ...kept].join("\n") + "\n")
          return { path: file, rows: kept.length, dropped: lines.length - kept.length }
        })
    }),
    Job.make({
      name: "daily",
      outputs: [daily],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [`clean/date=${dateOf(ref)}`] })),
      run: (ctx) =>
        Effect.gen(function* () {
          const date = dateOf(ctx.outputs[0]!)
          const lines = (yield* read(yield* pathOf(ctx.inputManifests, ctx.inputs[0]!))).trim().split("\n").slice(1)
          const totals: Record<string, { units: number; revenue: number }> = {}
          for (const line of lines) {
            const [, , region, product, units, price] = line.split(",")
            const key = `${region}/${product}`
            const entry = totals[key] ?? { units: 0, revenue: 0 }
            totals[key] = entry
            entry.units += Number(units)
            entry.revenue = Math.round((entry.revenue + Number(units) * Number(price)) * 100) / 100
          }
          const revenue = Math.round(Object.values(totals).reduce((sum, t) => sum + t.revenue, 0) * 100) / 100
          const file = path.join(options.outputDir(), "daily", `date=${date}.json`)
          yield* writeAtomic(file, JSON.stringify({ date, revenue, totals }, null, 2) + "\n")
          return { path: file, revenue }
        })
    }),
    Job.make({
      name: "weekly",
      outputs: [weekly],
      config: (refs) =>
        refs.map((ref) => ({
          outputs: [ref],
          inputs: [6, 5, 4, 3, 2, 1, 0].map((back) => `daily/date=${addDays(dateOf(ref), -back)}`)
        })),
      run: (ctx) =>
        Effect.gen(function* () {
          const end = dateOf(ctx.outputs[0]!)
          const days: Array<{ date: string; revenue: number; totals: Totals }> = []
          for (const input of ctx.inputs) days.push(JSON.parse(yield* read(yield* pathOf(ctx.inputManifests, input))))
          const revenue = Math.round(days.reduce((sum, day) => sum + day.revenue, 0) * 100) / 100
          const byProduct = new Map<string, number>()
          for (const day of days) {
            for (const [key, total] of Object.entries(day.totals)) {
              const product = key.split("/")[1]!
              byProduct.set(product, Math.round(((byProduct.get(product) ?? 0) + total.revenue) * 100) / 100)
            }
          }
          const report = [
            `# Sales, week ending ${end}`,
            "",
            `Revenue: ${revenue.toFixed(2)} over ${days[0]!.date} .. ${end}`,
            "",
            "| day | revenue |",
            "|---|---:|",
            ...days.map((day) => `| ${day.date} | ${day.revenue.toFixed(2)} |`),
            "",
            "| product | revenue |",
            "|---|---:|",
            ...[...byProduct].sort(([a], [b]) => a.localeCompare(b)).map(([p, r]) => `| ${p} | ${r.toFixed(2)} |`),
            ""
          ].join("\n")
          const file = path.join(options.outputDir(), "weekly", `end=${end}.md`)
          yield* writeAtomic(file, report)
          return { path: file, revenue }
        })
    })
  ])

/** The source partitions, for whoever registers the raw files. */
export const rawRef = (date: string): string => raw.unsafeFormat({ date })

export default make({ outputDir: () => path.resolve(process.env.SALES_OUTPUT ?? "output") })
