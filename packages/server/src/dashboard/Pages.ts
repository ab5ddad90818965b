/**
 * The dashboard's pages, rendered on the server from what core's views and the API's views return.
 * Live parts are fragments of their own (`buildLive`, `eventRows`), which the script fetches again
 * when the page's event stream says something changed.
 */
import { type AutomationOverview, BuildEvent, type Views } from "@tessera/core"
import type * as Bodies from "../api/Bodies.js"
import { type Html, html, segment } from "./Html.js"

export interface Chrome {
  readonly store: string
  /** Whether actions are shown: the server is not read-only. */
  readonly canAct: boolean
  /** Whether actions need the token, which the page then asks for once and keeps in the browser. */
  readonly needsToken: boolean
}

const when = (ms: number | undefined) =>
  ms === undefined ? "" : new Date(ms).toISOString().replace("T", " ").slice(0, 19)

const took = (ms: number) =>
  ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`

export const status = (value: string) => html`<span class="status s-${value}">${value}</span>`

const partitionLink = (ref: string) => html`<a class="mono" href="/partitions/${segment(ref)}">${ref}</a>`
const buildLink = (id: string) => html`<a class="mono" href="/builds/${segment(id)}">${id}</a>`

export const layout = (chrome: Chrome, title: string, here: string, body: Html): Html => html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Tessera</title><link rel="stylesheet" href="/assets/app.css"></head>
<body><header><a class="brand" href="/">Tessera</a><nav>${[
  ["/", "Overview"],
  ["/partitions", "Partitions"],
  ["/builds", "Builds"],
  ["/events", "Events"],
  ["/automations", "Automations"]
].map(([href, label]) => html`<a href="${href}" class="${href === here ? "here" : ""}">${label}</a>`)}</nav>
${chrome.canAct && chrome.needsToken ? html`<label class="muted">token <input data-token type="password" size="12"></label>` : ""}
<span class="store">${chrome.store}${chrome.canAct ? "" : " · read-only"}</span></header>
<main>${body}</main><script src="/assets/app.js"></script></body></html>`

const cards = (counts: ReadonlyArray<readonly [string, number]>, link: (status: string) => string) =>
  html`<div class="cards">${counts.map(
    ([name, n]) =>
      html`<a class="card" href="${link(name)}"><div class="n">${n}</div><div class="label">${status(name)}</div></a>`
  )}</div>`

export const overview = (
  chrome: Chrome,
  data: {
    readonly builds: ReadonlyArray<readonly [string, number]>
    readonly partitions: ReadonlyArray<readonly [string, number]>
    readonly recent: ReadonlyArray<Views.BuildRequestRow>
  }
) =>
  layout(
    chrome,
    "Overview",
    "/",
    html`<h1>Overview</h1>
<h2>Builds by status</h2>${data.builds.length === 0 ? html`<p class="muted">No builds yet.</p>` : cards(data.builds, (s) => `/builds?status=${s}`)}
<h2>Partitions by status</h2>${data.partitions.length === 0 ? html`<p class="muted">The catalog is empty.</p>` : cards(data.partitions, (s) => `/partitions?status=${s}`)}
${chrome.canAct ? requestForm : ""}
<h2>Recent builds</h2>${buildTable(data.recent)}`
  )

const requestForm = html`<h2>Request a build</h2>
<form data-api="/api/v1/builds" data-then="build" class="actions" id="request">
<input name="refs" size="60" placeholder="partitions, e.g. sales/date=2026-11-01 (space separated)" required>
<input name="concurrency" size="4" placeholder="conc.">
<button type="submit">Build</button><span class="notice"></span></form>`

const buildTable = (builds: ReadonlyArray<Views.BuildRequestRow>) =>
  builds.length === 0
    ? html`<p class="muted">No builds.</p>`
    : html`<table><tr><th>BUILD</th><th>STATUS</th><th>PARTITIONS</th><th>FROM</th><th>RECEIVED</th><th>UPDATED</th></tr>${builds.map(
        (b) =>
          html`<tr><td>${buildLink(b.buildRequestId)}</td><td>${status(b.status)}</td><td class="mono">${b.requestedRefs.slice(0, 3).join(", ")}${b.requestedRefs.length > 3 ? ` +${b.requestedRefs.length - 3}` : ""}</td><td>${b.source}</td><td>${when(b.receivedAt)}</td><td>${when(b.updatedAt)}</td></tr>`
      )}</table>`

const filterForm = (action: string, fields: Html) =>
  html`<form class="filters" method="get" action="${action}">${fields}<button type="submit">Filter</button></form>`

const select = (name: string, values: ReadonlyArray<string>, chosen: string | undefined) =>
  html`<select name="${name}"><option value="">any ${name}</option>${values.map(
    (value) => html`<option ${value === chosen ? "selected" : ""}>${value}</option>`
  )}</select>`

const pager = (base: string, params: Record<string, string | undefined>, next: string | number | undefined) => {
  if (next === undefined) return ""
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== "") query.set(key, value)
  query.set("after", String(next))
  return html`<div class="pager"><a href="${base}?${query.toString()}">next page →</a></div>`
}

/** A ref split into its dataset (the first segment) and its key (the rest). */
const split = (ref: string) => {
  const slash = ref.indexOf("/")
  return slash < 0 ? { dataset: ref, key: "" } : { dataset: ref.slice(0, slash), key: ref.slice(slash + 1) }
}

export const partitions = (
  chrome: Chrome,
  data: {
    readonly rows: ReadonlyArray<Views.PartitionRow>
    readonly prefix: string | undefined
    readonly status: string | undefined
    readonly statuses: ReadonlyArray<string>
    readonly next: string | undefined
  }
) => {
  const datasets = new Map<string, Map<string, Views.PartitionRow>>()
  const keys = new Set<string>()
  for (const row of data.rows) {
    const { dataset, key } = split(row.ref)
    const cells = datasets.get(dataset) ?? new Map()
    cells.set(key, row)
    datasets.set(dataset, cells)
    keys.add(key)
  }
  const columns = [...keys].sort()
  const grid =
    data.rows.length === 0
      ? html`<p class="muted">No partition matches.</p>`
      : html`<table class="grid"><tr><th>DATASET</th>${columns.map((key) => html`<th class="key">${key}</th>`)}</tr>${[
          ...datasets
        ].map(
          ([dataset, cells]) =>
            html`<tr><th>${dataset}</th>${columns.map((key) => {
              const row = cells.get(key)
              return row === undefined
                ? html`<td></td>`
                : html`<td class="cell s-${row.status}" title="${row.ref} ${row.status}"><a href="/partitions/${segment(row.ref)}"></a></td>`
            })}</tr>`
        )}</table>`
  return layout(
    chrome,
    "Partitions",
    "/partitions",
    html`<h1>Partitions</h1>
${filterForm("/partitions", html`<input name="prefix" placeholder="prefix, e.g. sales/" value="${data.prefix ?? ""}">${select("status", data.statuses, data.status)}`)}
<p class="muted">${data.rows.length} partition(s) on this page; rows are datasets, columns their keys.</p>
<div class="legend">${[...new Set(data.rows.map((row) => row.status))].sort().map(status)}</div>
${grid}${pager("/partitions", { prefix: data.prefix, status: data.status }, data.next)}`
  )
}

const kv = (rows: ReadonlyArray<readonly [string, Html | string | undefined]>) =>
  html`<table>${rows.filter(([, value]) => value !== undefined && value !== "").map(([key, value]) => html`<tr><th>${key}</th><td>${value}</td></tr>`)}</table>`

export const partition = (
  chrome: Chrome,
  data: {
    readonly detail: Bodies.PartitionDetail
    readonly dependents: ReadonlyArray<string>
    readonly history: ReadonlyArray<BuildEvent.LoggedEvent>
  }
) => {
  const { partition: row, freshness, job, inputs, jobRuns } = data.detail
  return layout(
    chrome,
    row.ref,
    "/partitions",
    html`<h1 class="mono">${row.ref}</h1>
${kv([
  ["status", status(row.status)],
  [
    "freshness",
    freshness === undefined
      ? undefined
      : html`${freshness.stale ? html`<b>stale</b>: ` : freshness.decision === "source" ? "" : "fresh: "}${freshness.reason}`
  ],
  ["job", job],
  [
    "job run",
    row.jobRunId === undefined
      ? undefined
      : html`<span class="mono">${row.jobRunId}</span> (version ${row.jobVersion ?? "?"})`
  ],
  ["build", row.buildRequestId === undefined ? undefined : buildLink(row.buildRequestId)],
  ["updated", `${when(row.updatedAt)} (seq ${row.updatedSeq})`],
  ["message", row.message]
])}
${chrome.canAct && row.status === "AVAILABLE" ? html`<form class="actions" data-api="/api/v1/partitions/${segment(row.ref)}/invalidate" data-then="reload"><input name="reason" placeholder="why (recorded)"><button class="danger" type="submit">Invalidate</button><span class="notice"></span></form>` : ""}
<h2>Manifest</h2>${row.manifest === undefined ? html`<p class="muted">none</p>` : html`<pre>${JSON.stringify(row.manifest, null, 2)}</pre>`}
<h2>Upstream</h2>${inputs.length === 0 ? html`<p class="muted">none</p>` : html`<ul>${inputs.map((ref) => html`<li>${partitionLink(ref)}</li>`)}</ul>`}
<h2>Downstream</h2>${data.dependents.length === 0 ? html`<p class="muted">nothing was built from it</p>` : html`<ul>${data.dependents.map((ref) => html`<li>${partitionLink(ref)}</li>`)}</ul>`}
<h2>Job runs</h2>${jobRuns.length === 0 ? html`<p class="muted">none: a source partition</p>` : html`<table><tr><th>JOB RUN</th><th>BUILD</th><th>ATTEMPT</th><th>STATUS</th><th>TOOK</th><th>MESSAGE</th></tr>${jobRuns.map((run) => html`<tr><td class="mono">${run.jobRunId}</td><td>${buildLink(run.buildRequestId)}</td><td>${run.attempt}</td><td>${status(run.status)}</td><td>${took(run.updatedAt - run.createdAt)}</td><td>${run.message ?? ""}</td></tr>`)}</table>`}
<h2>History</h2>${eventTable(data.history)}`
  )
}

export const builds = (
  chrome: Chrome,
  data: {
    readonly rows: ReadonlyArray<Views.BuildRequestRow>
    readonly status: string | undefined
    readonly statuses: ReadonlyArray<string>
    readonly next: string | undefined
  }
) =>
  layout(
    chrome,
    "Builds",
    "/builds",
    html`<h1>Builds</h1>${filterForm("/builds", select("status", data.statuses, data.status))}${buildTable(data.rows)}${pager("/builds", { status: data.status }, data.next)}`
  )

/** The part of a build's page that moves while it runs: its status, partitions and timeline. */
export const buildLive = (view: Bodies.Build, now: number, canAct: boolean) => {
  const { build, partitions: parts, jobRuns } = view
  const start = build.receivedAt
  const ends = jobRuns.flatMap((run) => run.attempts.map((a) => a.endedAt ?? now))
  const running = !["COMPLETED", "FAILED", "CANCELLED"].includes(build.status)
  const end = Math.max(start + 1000, running ? now : build.updatedAt, ...ends)
  const span = end - start
  const pct = (ms: number) => `${(((ms - start) / span) * 100).toFixed(2)}%`
  const timeline =
    jobRuns.length === 0
      ? html`<p class="muted">No job runs${running ? " yet" : ""}.</p>`
      : html`<div class="timeline">${jobRuns.map(
          (run) =>
            html`<div class="row" data-job-run="${run.jobRunId}" data-status="${run.status}"><div class="label" title="${run.outputs.join(", ")}">${run.jobName} <span class="muted mono">${run.outputs[0] ?? ""}</span></div><div class="track">${run.attempts
              .filter((a) => a.startedAt !== undefined)
              .map((a) => {
                const from = a.startedAt!
                const to = a.endedAt ?? now
                return html`<div class="bar s-${a.status}" style="left:${pct(from)};width:${(((to - from) / span) * 100).toFixed(2)}%" title="attempt ${a.attempt}: ${a.status}, ${took(to - from)}${a.message === undefined ? "" : `: ${a.message}`}">#${a.attempt}</div>`
              })}</div></div>`
        )}<div class="axis"><span>${when(start)}</span><span>${took(span)}</span></div></div>`
  return html`<p>status <span id="build-status">${status(build.status)}</span>${build.message === undefined ? "" : html` <span class="muted">${build.message}</span>`}</p>
${
  canAct && running
    ? html`<div class="actions"><form data-api="/api/v1/builds/${segment(build.buildRequestId)}" data-method="PATCH" data-body='{"status":"CANCELLED"}' data-then="none" id="cancel"><button class="danger" type="submit">Cancel</button><span class="notice"></span></form>
<form data-api="/api/v1/builds/${segment(build.buildRequestId)}/resume" data-then="reload" id="resume"><button type="submit" title="Continue it in this server when the process running it died; its finished work is kept">Resume here</button><span class="notice"></span></form></div>`
    : ""
}
<h2>Timeline</h2>${timeline}
<h2>Partitions</h2><table><tr><th>PARTITION</th><th>IN THIS BUILD</th><th>REQUESTED</th><th>DELEGATED TO</th></tr>${parts.map(
    (p) =>
      html`<tr><td>${partitionLink(p.ref)}</td><td>${status(p.status)}</td><td>${p.requested ? "yes" : ""}</td><td>${p.delegatedTo === undefined ? "" : html`${buildLink(p.delegatedTo.buildRequestId)} <span class="muted">(${p.delegatedTo.mode})</span>`}</td></tr>`
  )}</table>`
}

export const build = (chrome: Chrome, view: Bodies.Build, now: number) => {
  const id = view.build.buildRequestId
  return layout(
    chrome,
    id,
    "/builds",
    html`<h1>Build <span class="mono">${id}</span></h1>
${kv([
  ["requested", html`${view.build.requestedRefs.map((ref) => html`${partitionLink(ref)} `)}`],
  ["from", view.build.source],
  ["received", when(view.build.receivedAt)],
  ["options", html`<span class="mono">${JSON.stringify(view.build.options)}</span>`]
])}
<section id="live" data-stream="/api/v1/builds/${segment(id)}/events/stream" data-fragment="/builds/${segment(id)}/live">${buildLive(view, now, chrome.canAct)}</section>
<p><a href="/events?build=${segment(id)}">its events</a></p>`
  )
}

/** What an event says, in a few words. */
const summary = ({ event }: BuildEvent.LoggedEvent) => {
  const ref = BuildEvent.partitionRefOf(event)
  const subject =
    ref !== undefined
      ? partitionLink(ref)
      : "jobName" in event
        ? `${event.jobName} #${event.attempt}`
        : "requestedRefs" in event
          ? event.requestedRefs.map((requested) => html`${partitionLink(requested)} `)
          : ""
  const state =
    "status" in event ? event.status : event._tag === "Delegated" ? `to ${event.toBuildRequestId}` : undefined
  const message = "message" in event ? event.message : undefined
  return html`${subject} ${state === undefined ? "" : status(state)} <span class="muted">${message ?? ""}</span>`
}

export const eventRows = (events: ReadonlyArray<BuildEvent.LoggedEvent>) =>
  html`${events.map(
    (entry) =>
      html`<tr data-seq="${entry.seq}"><td class="mono">${entry.seq}</td><td>${when(entry.event.timestamp)}</td><td>${buildLink(entry.event.buildRequestId)}</td><td>${entry.event._tag}</td><td>${summary(entry)}</td></tr>`
  )}`

const eventTable = (events: ReadonlyArray<BuildEvent.LoggedEvent>, live?: { stream: string; fragment: string }) =>
  html`<table><thead><tr><th>SEQ</th><th>TIME</th><th>BUILD</th><th>KIND</th><th>WHAT</th></tr></thead><tbody ${
    live === undefined
      ? ""
      : html`id="event-rows" data-append data-after="${events.at(-1)?.seq ?? 0}" data-stream="${live.stream}" data-fragment="${live.fragment}"`
  }>${eventRows(events)}</tbody></table>`

export const events = (
  chrome: Chrome,
  data: {
    readonly rows: ReadonlyArray<BuildEvent.LoggedEvent>
    readonly filter: {
      readonly build?: string | undefined
      readonly ref?: string | undefined
      readonly kind?: string | undefined
    }
    readonly next: number | undefined
  }
) => {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(data.filter)) if (value !== undefined && value !== "") query.set(key, value)
  const last = data.rows.at(-1)?.seq ?? 0
  const live =
    data.next === undefined
      ? {
          stream: `/api/v1/events/stream?${new URLSearchParams([...query, ["after", String(last)]]).toString()}`,
          fragment: `/events/rows?${query.toString()}`
        }
      : undefined
  return layout(
    chrome,
    "Events",
    "/events",
    html`<h1>Events</h1>
${filterForm("/events", html`<input name="build" placeholder="build id" value="${data.filter.build ?? ""}"><input name="ref" placeholder="ref or prefix" value="${data.filter.ref ?? ""}">${select("kind", BuildEvent.kinds, data.filter.kind)}`)}
<p class="muted">${live === undefined ? "Older events; the last page follows the log live." : "Following the log live."}</p>
${eventTable(data.rows, live)}${pager("/events", data.filter, data.next)}`
  )
}

const pauseForm = (name: string, paused: boolean) =>
  html`<form class="actions" data-api="/api/v1/automations/${segment(name)}/${paused ? "resume" : "pause"}" data-then="reload" id="${paused ? "resume" : "pause"}-${name}"><button type="submit">${paused ? "Resume" : "Pause"}</button><span class="notice"></span></form>`

const state = (paused: boolean, error: string | undefined) =>
  html`${status(paused ? "PAUSED" : "RUNNING")}${error === undefined ? "" : html` <span class="muted" title="${error}">last run failed: ${error}</span>`}`

/** Sensors and schedules: paused or not, last and next run, with pause and resume when the server acts. */
export const automations = (
  chrome: Chrome,
  data: {
    readonly sensors: ReadonlyArray<AutomationOverview.SensorInfo>
    readonly schedules: ReadonlyArray<AutomationOverview.ScheduleInfo>
  }
) =>
  layout(
    chrome,
    "Automations",
    "/automations",
    html`<h1>Automations</h1>
<p class="muted">Sensors and schedules of the graph, run by <code>tessera daemon</code> and <code>tessera serve</code>; a pause holds in every one of them on this store.</p>
<h2>Schedules</h2>${
      data.schedules.length === 0
        ? html`<p class="muted">The graph declares no schedule.</p>`
        : html`<table id="schedules"><thead><tr><th>name</th><th>cron</th><th>state</th><th>last tick</th><th>build</th><th>next tick</th><th>catch-up</th>${chrome.canAct ? html`<th></th>` : ""}</tr></thead><tbody>${data.schedules.map(
            (s) =>
              html`<tr><td class="mono">${s.name}</td><td class="mono">${s.cron} (${s.timeZone})</td><td>${state(s.paused, s.lastError)}</td><td>${when(s.lastTick?.at)}</td><td>${s.lastTick === undefined ? "" : html`${buildLink(s.lastTick.buildRequestId)} ${status(s.lastTick.status)}`}</td><td>${when(s.nextTick)}</td><td>${s.catchUp}</td>${chrome.canAct ? html`<td>${pauseForm(s.name, s.paused)}</td>` : ""}</tr>`
          )}</tbody></table>`
    }
<h2>Sensors</h2>${
      data.sensors.length === 0
        ? html`<p class="muted">The graph declares no sensor.</p>`
        : html`<table id="sensors"><thead><tr><th>name</th><th>watches</th><th>state</th><th>last pass</th><th>next scan</th>${chrome.canAct ? html`<th></th>` : ""}</tr></thead><tbody>${data.sensors.map(
            (s) =>
              html`<tr><td class="mono">${s.name}</td><td class="mono">${s.type === "files" ? `${s.glob} → ${s.as}` : `custom, every ${took(s.intervalMs)}`}</td><td>${state(s.paused, s.lastError)}</td><td>${when(s.lastRunAt)}</td><td>${when(s.nextRunAt)}</td>${chrome.canAct ? html`<td>${pauseForm(s.name, s.paused)}</td>` : ""}</tr>`
          )}</tbody></table>`
    }`
  )
