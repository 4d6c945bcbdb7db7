# Copied by postmark-codegen from templates/static/postmark_client/gateway/console/_assets.py;
# edit it there and regenerate, not here.
"""The console's stylesheet and script, served by the gateway itself (no CDN: gateways run in
closed networks). The script only makes the log live; every page works without it."""

from __future__ import annotations

from typing import Final

__all__ = ["ASSETS"]

CSS: Final = """\
:root { color-scheme: light; --ink: #1d2433; --muted: #5a6275; --line: #d5d9e2;
  --accent: #0b5cad; --bad: #a4161a; --good: #1b6b3a; font-family: system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #f7f8fa; line-height: 1.4; }
p, dd, summary, h3 { overflow-wrap: anywhere; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center;
  padding: .5rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.1rem; margin: 0; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem .75rem; list-style: none; margin: 0; padding: 0; }
nav a { color: var(--accent); }
nav a[aria-current="page"] { font-weight: 700; text-decoration: none; }
main { padding: 1rem; max-width: 100%; }
.source { padding: .5rem .75rem; background: #eef3fb; border-left: 4px solid var(--accent); }
.notice { padding: .5rem .75rem; background: #fff7e0; border-left: 4px solid #c98a00; }
.error { padding: .5rem .75rem; background: #fde8e8; border-left: 4px solid var(--bad); }
.shown-once { font-family: ui-monospace, monospace; word-break: break-all; padding: .5rem;
  background: #fff; border: 2px dashed var(--accent); }
.scroll { overflow-x: auto; max-width: 100%; position: relative; }
table { border-collapse: collapse; background: #fff; }
caption { text-align: left; padding: .25rem 0; }
th, td { border: 1px solid var(--line); padding: .25rem .4rem; text-align: left; vertical-align: top; }
th[scope="row"] { min-width: 8rem; }
td.wide { min-width: 14rem; }
th small { display: block; color: var(--muted); font-weight: 400; }
a.remove { display: block; font-weight: 400; font-size: .9em; margin-top: .25rem; }
td.allowed { color: var(--good); } td.denied, td.invalid { color: var(--bad); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
label { display: inline-block; margin: .2rem .5rem .2rem 0; }
input, select, button { font: inherit; min-height: 2rem; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
form.inline { display: inline; }
fieldset { border: 1px solid var(--line); margin: .5rem 0; }
details > summary { cursor: pointer; }
dl.detail { display: grid; grid-template-columns: max-content 1fr; gap: 0 .75rem; margin: .25rem 0; }
dl.detail dt { color: var(--muted); }
dl.detail dd { margin: 0; word-break: break-word; }
pre { white-space: pre-wrap; word-break: break-word; }
@media (max-width: 600px) { main { padding: .5rem; } th, td { padding: .2rem; } }
"""

JS: Final = """\
"use strict";
// The log page: every few seconds, rows newer than the newest shown, with the page's filters.
(function () {
  var list = document.getElementById("log-rows");
  if (!list) { return; }
  var status = document.getElementById("log-live");
  function row(entry) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-id", String(entry.id));
    var time = document.createElement("td");
    time.textContent = entry.time;
    var decision = document.createElement("td");
    decision.textContent = entry.decision;
    decision.className = entry.decision;
    var said = document.createElement("td");
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    summary.textContent = entry.sentence;
    details.appendChild(summary);
    var dl = document.createElement("dl");
    dl.className = "detail";
    Object.keys(entry).forEach(function (key) {
      if (key === "sentence") { return; }
      var dt = document.createElement("dt");
      dt.textContent = key;
      var dd = document.createElement("dd");
      var value = entry[key];
      dd.textContent = value === null ? "" : (typeof value === "object" ? JSON.stringify(value) : String(value));
      dl.appendChild(dt); dl.appendChild(dd);
    });
    details.appendChild(dl);
    said.appendChild(details);
    tr.appendChild(time); tr.appendChild(decision); tr.appendChild(said);
    return tr;
  }
  function poll() {
    var after = list.getAttribute("data-after") || "0";
    var query = new URLSearchParams(window.location.search);
    query.set("after", after);
    fetch(list.getAttribute("data-feed") + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (answer) { if (!answer.ok) { throw new Error(String(answer.status)); } return answer.json(); })
      .then(function (data) {
        data.entries.forEach(function (entry) {
          list.insertBefore(row(entry), list.firstChild);
          list.setAttribute("data-after", String(entry.id));
        });
        if (status) { status.textContent = "Live: checked " + new Date().toLocaleTimeString(); }
      })
      .catch(function (error) { if (status) { status.textContent = "Live updates stopped: " + error.message; } })
      .finally(function () { window.setTimeout(poll, 1500); });
  }
  window.setTimeout(poll, 1500);
})();
"""

ASSETS: Final[dict[str, tuple[bytes, bytes]]] = {
    "console.css": (b"text/css; charset=utf-8", CSS.encode("utf-8")),
    "console.js": (b"text/javascript; charset=utf-8", JS.encode("utf-8")),
}
"""Each asset's content type and bytes, by the name it is served at under /console/assets/."""
