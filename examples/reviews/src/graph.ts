/**
 * Podcast reviews, fanned out like DataBuild's example:
 *
 *   reviews/date=D                       source: the day's reviews, JSON lines
 *   categorized/category=C/date=D        that day's reviews of category C; ONE run of `categorize`
 *                                        reads the day once and writes every category's partition
 *   summary/category=C/date=D            count, mean rating and common words of C on D
 *   leaderboard/date=D                   every category's summary of D, best rated first
 *
 * Outputs go under $REVIEWS_OUTPUT, or ./output of the working directory.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Graph, Job, type Manifest, pattern } from "@tessera/core"
import { Effect, Option } from "effect"
import { CATEGORIES, type Review } from "./data.js"

export interface Options {
  readonly outputDir: () => string
}

const categorized = pattern("categorized/category={category}/date={date}")
const summary = pattern("summary/category={category}/date={date}")
const leaderboard = pattern("leaderboard/date={date}")

const writeAtomic = (file: string, content: string) =>
  Effect.try(() => {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(`${file}.tmp`, content)
    fs.renameSync(`${file}.tmp`, file)
  })

const readInput = (manifests: ReadonlyMap<string, Manifest.Manifest>, ref: string) =>
  Effect.gen(function* () {
    const file = manifests.get(ref)?.path
    if (typeof file !== "string") return yield* Effect.fail(new Error(`${ref} has no path in its manifest`))
    return yield* Effect.try(() => fs.readFileSync(file, "utf8"))
  })

const paramsOf = <P>(parse: (ref: string) => Option.Option<P>, ref: string): P =>
  Option.getOrThrowWith(parse(ref), () => new Error(`${ref} does not match its job's pattern`))

export const make = (options: Options): Graph.Graph =>
  Graph.make([
    Job.make({
      name: "categorize",
      outputs: [categorized],
      // However many categories of a day were asked for, one run per day writes all of them.
      config: (refs) => {
        const dates = new Set(refs.map((ref) => paramsOf(categorized.parse, ref).date))
        return [...dates].map((date) => ({
          outputs: CATEGORIES.map((category) => categorized.unsafeFormat({ category, date })),
          inputs: [`reviews/date=${date}`],
          args: { date }
        }))
      },
      run: (ctx) =>
        Effect.gen(function* () {
          const reviews = (yield* readInput(ctx.inputManifests, ctx.inputs[0]!))
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line) as Review)
          const counts: Record<string, number> = {}
          for (const ref of ctx.outputs) {
            const { category, date } = paramsOf(categorized.parse, ref)
            const mine = reviews.filter((review) => review.category === category)
            counts[category] = mine.length
            yield* writeAtomic(
              path.join(options.outputDir(), "categorized", `category=${category}`, `date=${date}.jsonl`),
              mine.map((review) => JSON.stringify(review)).join("\n") + "\n"
            )
          }
          // One manifest for the run; the folder holds each output's file.
          return { path: path.join(options.outputDir(), "categorized"), counts }
        })
    }),
    Job.make({
      name: "summarize",
      outputs: [summary],
      config: (refs) =>
        refs.map((ref) => {
          const { category, date } = paramsOf(summary.parse, ref)
          return { outputs: [ref], inputs: [categorized.unsafeFormat({ category, date })] }
        }),
      run: (ctx) =>
        Effect.gen(function* () {
          const { category, date } = paramsOf(summary.parse, ctx.outputs[0]!)
          // The categorize run's manifest names the folder that holds every category's file.
          const folder = ctx.inputManifests.get(ctx.inputs[0]!)?.path
          if (typeof folder !== "string") return yield* Effect.fail(new Error(`${ctx.inputs[0]} has no path`))
          const file = path.join(folder, `category=${category}`, `date=${date}.jsonl`)
          const text = yield* Effect.try(() => fs.readFileSync(file, "utf8").trim())
          const reviews = text === "" ? [] : text.split("\n").map((line) => JSON.parse(line) as Review)
          const words = new Map<string, number>()
          for (const review of reviews) {
            for (const word of review.text.split(" and ")) words.set(word, (words.get(word) ?? 0) + 1)
          }
          const result = {
            category,
            date,
            reviews: reviews.length,
            meanRating:
              reviews.length === 0
                ? null
                : Math.round((reviews.reduce((sum, review) => sum + review.rating, 0) / reviews.length) * 100) / 100,
            topWords: [...words]
              .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
              .slice(0, 3)
              .map(([w]) => w)
          }
          const out = path.join(options.outputDir(), "summary", `category=${category}`, `date=${date}.json`)
          yield* writeAtomic(out, JSON.stringify(result, null, 2) + "\n")
          return { path: out, reviews: reviews.length }
        })
    }),
    Job.make({
      name: "leaderboard",
      outputs: [leaderboard],
      config: (refs) =>
        refs.map((ref) => {
          const { date } = paramsOf(leaderboard.parse, ref)
          return { outputs: [ref], inputs: CATEGORIES.map((category) => summary.unsafeFormat({ category, date })) }
        }),
      run: (ctx) =>
        Effect.gen(function* () {
          const { date } = paramsOf(leaderboard.parse, ctx.outputs[0]!)
          const rows: Array<{ category: string; reviews: number; meanRating: number | null }> = []
          for (const input of ctx.inputs) rows.push(JSON.parse(yield* readInput(ctx.inputManifests, input)))
          rows.sort((a, b) => (b.meanRating ?? 0) - (a.meanRating ?? 0) || a.category.localeCompare(b.category))
          const lines = [
            `# Podcast categories, ${date}`,
            "",
            "| rank | category | reviews | mean rating |",
            "|---:|---|---:|---:|",
            ...rows.map((row, i) => `| ${i + 1} | ${row.category} | ${row.reviews} | ${row.meanRating ?? "-"} |`),
            ""
          ]
          const out = path.join(options.outputDir(), "leaderboard", `date=${date}.md`)
          yield* writeAtomic(out, lines.join("\n"))
          return { path: out, leader: rows[0]?.category ?? null }
        })
    })
  ])

export default make({ outputDir: () => path.resolve(process.env.REVIEWS_OUTPUT ?? "output") })
