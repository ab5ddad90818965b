/**
 * The dashboard in a real headless Chromium (the system's `chromium`, which .ci/run installs):
 * the overview, a build requested from the page whose timeline reaches COMPLETED without a reload,
 * a build cancelled from its page, a partition's page, and no actions on a read-only server.
 * Screenshots of each page land in packages/server/.tmp/screenshots.
 */
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import puppeteer, { type Page } from "puppeteer-core"
import { withAutomations } from "./fixtures/graph.js"
import { call, ref, registerRaw, serve, sqlite } from "./Harness.js"

const screenshots = fileURLToPath(new URL("../.tmp/screenshots/", import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

const browser = Effect.acquireRelease(
  Effect.promise(() =>
    puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
    })
  ),
  (opened) => Effect.promise(() => opened.close())
)

const shot = (page: Page, name: string) =>
  Effect.promise(async () => {
    fs.mkdirSync(screenshots, { recursive: true })
    await page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true })
  })

const statusOf = (page: Page) => Effect.promise(() => page.$eval("#build-status", (el) => el.textContent?.trim()))

/** Requests `refs` from the overview's form and lands on the build's page. */
const requestFromPage = (page: Page, base: string, refs: string) =>
  Effect.promise(async () => {
    await page.goto(`${base}/`)
    await page.type("#request input[name=refs]", refs)
    await Promise.all([page.waitForNavigation(), page.click("#request button")])
    // Marks this document: a reload or a navigation would drop the mark.
    await page.evaluate(() => Object.assign(window, { sameDocument: true }))
    return page.url()
  })

describe("the dashboard in Chromium", () => {
  it.scopedLive("requests a build from the page and watches its timeline reach COMPLETED live; cancels another", () =>
    Effect.gen(function* () {
      const store = yield* sqlite
      yield* registerRaw(store, ["2026-11-01", "2026-11-02", "2026-11-03"])
      const { url } = yield* serve(store, { token: "dash" })
      const chromium = yield* browser
      const page = yield* Effect.promise(() => chromium.newPage())
      yield* Effect.promise(() => page.setViewport({ width: 1280, height: 800 }))

      yield* Effect.promise(async () => {
        await page.goto(`${url}/`)
        // The server has a token: the page asks for it once and keeps it in the browser.
        await page.type("[data-token]", "dash")
        await page.$eval("[data-token]", (el) => el.dispatchEvent(new Event("change")))
      })
      expect(yield* Effect.promise(() => page.$eval("h1", (el) => el.textContent))).toBe("Overview")
      yield* shot(page, "overview-empty")

      process.env.SERVER_TEST_SLEEP_MS = "1500"
      const buildUrl = yield* requestFromPage(page, url, "report/date=2026-11-01")
      expect(buildUrl).toMatch(/\/builds\/build-/)
      // The clean job sleeps 1.5 s: its bar is RUNNING on the page, then the build COMPLETES, in one document.
      yield* Effect.promise(() => page.waitForSelector(".timeline .row[data-status=RUNNING]", { timeout: 20_000 }))
      yield* shot(page, "build-running")
      yield* Effect.promise(() =>
        page.waitForFunction(() => document.querySelector("#build-status")?.textContent?.trim() === "COMPLETED", {
          timeout: 30_000
        })
      )
      expect(yield* Effect.promise(() => page.evaluate(() => "sameDocument" in window))).toBe(true)
      const rows = yield* Effect.promise(() =>
        page.$$eval(".timeline .row", (els) => els.map((el) => (el as HTMLElement).dataset.status))
      )
      expect(rows).toEqual(["COMPLETED", "COMPLETED"])
      yield* shot(page, "build-completed")

      process.env.SERVER_TEST_SLEEP_MS = "60000"
      yield* requestFromPage(page, url, "report/date=2026-11-02")
      yield* Effect.promise(() => page.waitForSelector(".timeline .row[data-status=RUNNING]", { timeout: 20_000 }))
      yield* Effect.promise(() => page.click("#cancel button"))
      yield* Effect.promise(() =>
        page.waitForFunction(() => document.querySelector("#build-status")?.textContent?.trim() === "CANCELLED", {
          timeout: 30_000
        })
      )
      expect(yield* statusOf(page)).toBe("CANCELLED")
      yield* shot(page, "build-cancelled")
      process.env.SERVER_TEST_SLEEP_MS = "0"

      yield* Effect.promise(() => page.goto(`${url}/partitions/${ref("clean/date=2026-11-01")}`))
      expect(yield* Effect.promise(() => page.$eval("h1", (el) => el.textContent))).toBe("clean/date=2026-11-01")
      expect(yield* Effect.promise(() => page.$eval("pre", (el) => el.textContent))).toContain('"rows": 1')
      const body = yield* Effect.promise(() => page.$eval("main", (el) => el.textContent ?? ""))
      expect(body).toContain("raw/date=2026-11-01")
      expect(body).toContain("report/date=2026-11-01")
      yield* shot(page, "partition")

      yield* Effect.promise(() => page.goto(`${url}/partitions`))
      const cells = yield* Effect.promise(() =>
        page.$$eval(".grid td.cell", (els) => els.map((el) => el.getAttribute("title")))
      )
      expect(cells).toContain("report/date=2026-11-01 AVAILABLE")
      yield* shot(page, "partitions")
      yield* Effect.promise(() => page.goto(`${url}/`))
      yield* shot(page, "overview")
      yield* Effect.promise(async () => {
        await page.goto(`${url}/events`)
        await page.evaluate(() => Object.assign(window, { sameDocument: true }))
      })
      // The events page follows the log: a source registered now appears without a reload.
      yield* call(
        url,
        "POST",
        "/api/v1/sources",
        { ref: "raw/date=2026-11-09", manifest: { checksum: "late" } },
        { authorization: "Bearer dash" }
      )
      yield* Effect.promise(() =>
        page.waitForFunction(
          () => document.querySelector("#event-rows")?.textContent?.includes("raw/date=2026-11-09"),
          {
            timeout: 20_000
          }
        )
      )
      expect(yield* Effect.promise(() => page.evaluate(() => "sameDocument" in window))).toBe(true)
      yield* shot(page, "events")
    })
  )

  it.scopedLive("the automations page lists schedules and sensors with their runs, and pauses and resumes them", () =>
    Effect.gen(function* () {
      const store = yield* sqlite
      yield* registerRaw(store, ["2026-11-30"])
      const { url } = yield* serve(store, { graph: withAutomations })
      const chromium = yield* browser
      const page = yield* Effect.promise(() => chromium.newPage())
      yield* Effect.promise(() => page.setViewport({ width: 1280, height: 600 }))
      yield* Effect.promise(() => page.goto(`${url}/automations`))
      const cells = (table: string) =>
        Effect.promise(() => page.$$eval(`#${table} tbody td`, (els) => els.map((el) => el.textContent?.trim() ?? "")))
      const schedule = yield* cells("schedules")
      expect(schedule.slice(0, 3)).toEqual(["nightly", "0 2 * * * (Europe/Paris)", "RUNNING"])
      expect(schedule[5]).toMatch(/^\d{4}-\d\d-\d\d \d\d:00:00$/)
      expect((yield* cells("sensors")).slice(0, 3)).toEqual(["inbox", "inbox/*.csv → raw/date={date}", "RUNNING"])
      yield* Effect.promise(() => Promise.all([page.waitForNavigation(), page.click("#pause-nightly button")]))
      expect((yield* cells("schedules"))[2]).toBe("PAUSED")
      expect(yield* Effect.promise(() => page.$("#resume-nightly"))).not.toBeNull()
      yield* shot(page, "automations-paused")
      yield* Effect.promise(() => Promise.all([page.waitForNavigation(), page.click("#resume-nightly button")]))
      expect((yield* cells("schedules"))[2]).toBe("RUNNING")
      yield* shot(page, "automations")
    })
  )

  it.scopedLive("a read-only server's pages show no actions", () =>
    Effect.gen(function* () {
      const store = yield* sqlite
      yield* registerRaw(store, ["2026-11-01"])
      const { url } = yield* serve(store, { readOnly: true })
      const chromium = yield* browser
      const page = yield* Effect.promise(() => chromium.newPage())
      yield* Effect.promise(() => page.goto(`${url}/`))
      expect(yield* Effect.promise(() => page.$("#request"))).toBeNull()
      yield* Effect.promise(() => page.goto(`${url}/partitions/${ref("raw/date=2026-11-01")}`))
      expect(yield* Effect.promise(() => page.$("form[data-api]"))).toBeNull()
      expect(yield* Effect.promise(() => page.$eval("header .store", (el) => el.textContent))).toContain("read-only")
    })
  )
})
