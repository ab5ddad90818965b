/**
 * Deterministic sample reviews: one JSON-lines file per day, each review of a podcast in a category.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export const CATEGORIES = ["comedy", "news", "science", "sports"] as const

const PODCASTS: Record<(typeof CATEGORIES)[number], ReadonlyArray<string>> = {
  comedy: ["Laugh Track", "Open Mic"],
  news: ["Morning Brief", "The Wire"],
  science: ["Lab Notes", "Deep Field"],
  sports: ["Extra Time", "Box Score"]
}

const WORDS = ["great", "boring", "insightful", "funny", "long", "sharp", "slow", "fresh"]

const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export interface Review {
  readonly podcast: string
  readonly category: string
  readonly rating: number
  readonly text: string
}

export const reviewsOf = (date: string): Array<Review> => {
  const next = random(Number(date.replaceAll("-", "")) * 7)
  const out: Array<Review> = []
  const count = 30 + Math.floor(next() * 30)
  for (let i = 0; i < count; i++) {
    const category = CATEGORIES[Math.floor(next() * CATEGORIES.length)]!
    const podcasts = PODCASTS[category]
    const podcast = podcasts[Math.floor(next() * podcasts.length)]!
    const rating = 1 + Math.floor(next() * 5)
    const text = [0, 1].map(() => WORDS[Math.floor(next() * WORDS.length)]).join(" and ")
    out.push({ podcast, category, rating, text })
  }
  return out
}

export const addDays = (date: string, n: number): string => {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + n)
  return d.toISOString().slice(0, 10)
}

/** Writes each day's reviews under `dir` (the same bytes every time), returning the files. */
export const writeRaw = (dir: string, from: string, days: number): Array<{ date: string; file: string }> => {
  fs.mkdirSync(dir, { recursive: true })
  return Array.from({ length: days }, (_, i) => {
    const date = addDays(from, i)
    const file = path.join(dir, `${date}.jsonl`)
    const content = reviewsOf(date)
      .map((review) => JSON.stringify(review))
      .join("\n")
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== `${content}\n`) fs.writeFileSync(file, `${content}\n`)
    return { date, file }
  })
}
