/**
 * The dashboard's stylesheet and script, served by the server itself (/assets/...), so the
 * dashboard works on a machine without internet access. The script only follows server-sent
 * events and swaps in fragments the server renders, so every view is rendered in one place.
 */
import { BuildEvent, Status } from "@tessera/core"

/** Every status a partition, a job run or a build can show, each with its colour. */
const statuses = [
  ...new Set([
    ...Status.PartitionStatus.literals,
    ...Status.JobRunStatus.literals,
    ...Status.BuildRequestStatus.literals,
    // A sensor's or schedule's state on the automations page.
    "PAUSED"
  ])
]

export const css = `
:root { --bg:#fafafa; --fg:#1d1d1f; --muted:#6e6e73; --line:#e0e0e3; --accent:#2357c6;
  --AVAILABLE:#2e9d4f; --COMPLETED:#2e9d4f; --BUILDING:#2f7be0; --RUNNING:#2f7be0; --EXECUTING:#2f7be0;
  --SCHEDULED:#8fb3ee; --PLANNING:#8fb3ee; --RECEIVED:#b9c6da; --ANALYSIS_COMPLETED:#8fb3ee; --REQUESTED:#b9c6da;
  --FAILED:#d0342c; --STALE:#e0a21b; --CANCELLED:#8a8a8e; --SKIPPED:#c7c7cc; --DELEGATED:#9b6bd6; --UNKNOWN:#d8d8dc; --PAUSED:#e0a21b; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--fg); }
header { display:flex; gap:24px; align-items:center; padding:10px 24px; background:#fff; border-bottom:1px solid var(--line); }
header .brand { font-weight:700; font-size:16px; color:var(--fg); text-decoration:none; }
header nav a { margin-right:16px; color:var(--muted); text-decoration:none; }
header nav a.here { color:var(--fg); font-weight:600; }
header .store { margin-left:auto; color:var(--muted); font-size:12px; }
main { padding:20px 24px; max-width:1400px; }
h1 { font-size:20px; margin:0 0 16px; } h2 { font-size:15px; margin:24px 0 8px; }
a { color:var(--accent); }
.cards { display:flex; gap:12px; flex-wrap:wrap; }
a.card { color:inherit; text-decoration:none; }
h1.mono { font-size:18px; }
.legend { display:flex; gap:6px; margin:8px 0; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 16px; min-width:150px; }
.card .n { font-size:22px; font-weight:700; } .card .label { color:var(--muted); font-size:12px; }
table { border-collapse:collapse; background:#fff; border:1px solid var(--line); }
th, td { text-align:left; padding:5px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; background:#f4f4f6; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
.status { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff; font-size:12px; font-weight:600; background:var(--UNKNOWN); }
${statuses.map((status) => `.s-${status} { background:var(--${status}); }`).join("\n")}
.grid td.cell { padding:0; width:22px; height:22px; border:2px solid #fff; }
.grid td.cell a { display:block; width:100%; height:100%; min-height:18px; }
.grid th.key { writing-mode: vertical-rl; transform: rotate(180deg); font-weight:400; font-size:11px; padding:6px 2px; }
form.inline { display:inline; }
form.filters { display:flex; gap:8px; align-items:center; margin-bottom:12px; }
input, select, textarea, button { font:inherit; padding:5px 8px; border:1px solid var(--line); border-radius:6px; background:#fff; }
button { background:var(--accent); color:#fff; border-color:var(--accent); cursor:pointer; }
button.danger { background:#d0342c; border-color:#d0342c; }
.actions { margin:12px 0; display:flex; gap:8px; align-items:center; }
.notice { color:#b00020; margin-left:8px; }
.muted { color:var(--muted); }
.timeline { background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px 12px; }
.timeline .row { display:flex; align-items:center; height:24px; }
.timeline .label { width:260px; flex:none; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; font-size:12px; }
.timeline .track { position:relative; flex:1; height:16px; background:#f1f1f4; border-radius:3px; }
.timeline .bar { position:absolute; top:0; height:16px; border-radius:3px; min-width:3px; color:#fff; font-size:10px; padding-left:3px; overflow:hidden; }
.timeline .axis { display:flex; justify-content:space-between; margin-left:260px; color:var(--muted); font-size:11px; }
pre { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px; overflow:auto; }
.pager { margin-top:10px; }
`

export const js = `
"use strict";
(function () {
  var token = function () { return localStorage.getItem("tessera-token") || ""; };
  var tokenInput = document.querySelector("[data-token]");
  if (tokenInput) {
    tokenInput.value = token();
    tokenInput.addEventListener("change", function () { localStorage.setItem("tessera-token", tokenInput.value); });
  }
  // Actions: forms with data-api post JSON to the API with the token, then go where data-then says.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-api]")) return;
    event.preventDefault();
    var notice = form.querySelector(".notice");
    var body = {};
    new FormData(form).forEach(function (value, key) {
      if (key === "refs") body.refs = String(value).split(/[\\s,]+/).filter(Boolean);
      else if (value !== "") body[key] = key === "concurrency" || key === "retries" ? Number(value) : value;
    });
    if (form.dataset.body) body = Object.assign(JSON.parse(form.dataset.body), body);
    var headers = { "content-type": "application/json" };
    if (token()) headers.authorization = "Bearer " + token();
    fetch(form.dataset.api, { method: form.dataset.method || "POST", headers: headers, body: JSON.stringify(body) })
      .then(function (response) { return response.json().then(function (json) { return { ok: response.ok, json: json }; }); })
      .then(function (answer) {
        if (!answer.ok) { if (notice) notice.textContent = answer.json.message || "refused"; return; }
        var then = form.dataset.then;
        if (then === "build") location.href = "/builds/" + encodeURIComponent(answer.json.build.buildRequestId);
        else if (then === "reload") location.reload();
      })
      .catch(function (error) { if (notice) notice.textContent = String(error); });
  });
  // Live regions: on each event of data-stream, fetch data-fragment and swap it in (at most every 250 ms).
  document.querySelectorAll("[data-stream]").forEach(function (region) {
    var pending = false;
    var refresh = function () {
      if (pending) return;
      pending = true;
      setTimeout(function () {
        var url = region.dataset.fragment;
        if (region.dataset.after !== undefined) url += (url.indexOf("?") < 0 ? "?" : "&") + "after=" + region.dataset.after;
        fetch(url).then(function (r) { return r.text(); }).then(function (text) {
          pending = false;
          if (region.dataset.append !== undefined) {
            region.insertAdjacentHTML("beforeend", text);
            var rows = region.querySelectorAll("[data-seq]");
            if (rows.length > 0) region.dataset.after = rows[rows.length - 1].dataset.seq;
          } else region.innerHTML = text;
        }, function () { pending = false; });
      }, 250);
    };
    var source = new EventSource(region.dataset.stream);
    source.onmessage = refresh;
    ${JSON.stringify(BuildEvent.kinds)}
      .forEach(function (kind) { source.addEventListener(kind, refresh); });
  });
})();
`
