import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { EventRow } from "../events/policy";
import { SNAPSHOT_FIELDS, type Changes, type VersionEntry } from "./service";

/**
 * Server-rendered history pages in the spirit of a wiki's page history: who changed what and
 * when, old and new values side by side, links between versions. No client script; every value
 * goes through hono/html's escaping.
 */

const STYLE = raw(`<style>
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#202122}
h1{font-weight:normal;border-bottom:1px solid #a2a9b1}
table{border-collapse:collapse;width:100%;margin:1rem 0;table-layout:fixed}
col.field{width:11rem}
th,td{border:1px solid #c8ccd1;padding:.35rem .6rem;vertical-align:top;text-align:left}
th{background:#eaecf0}
td.from{background:#fee7e6}td.to{background:#d5fdf4}
del,ins{text-decoration:none}del::before{content:"− ";color:#b32424}ins::before{content:"+ ";color:#14866d}
.meta{color:#54595d}.action{font-weight:600}
ul.history{list-style:none;padding:0}ul.history li{padding:.5rem 0;border-bottom:1px solid #eaecf0}
code{white-space:pre-wrap;word-break:break-word}
</style>`);

const show = (value: unknown) => {
  if (value === null || value === undefined) return html`<em>none</em>`;
  if (value === "") return html`<em>empty text</em>`;
  return html`<code>${typeof value === "string" ? value : JSON.stringify(value)}</code>`;
};

function layout(title: string, body: HtmlEscapedString | Promise<HtmlEscapedString>) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>${STYLE}</head>
<body>${body}</body></html>`;
}

/** A readable UTC time that machines can still read from `datetime`. */
const when = (iso: string) => html`<time datetime="${iso}">${iso.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC")}</time>`;

/** The first version has nothing before it: its fields as a plain list. */
function valuesTable(changes: Changes) {
  const fields = SNAPSHOT_FIELDS.filter((f) => f in changes);
  return html`<table>
  <colgroup><col class="field"><col></colgroup>
  <thead><tr><th>Field</th><th>Value</th></tr></thead>
  <tbody>${fields.map((f) => html`<tr><th scope="row">${f}</th><td class="to">${show(changes[f].to)}</td></tr>`)}</tbody>
</table>`;
}

function changesTable(changes: Changes, fromLabel: string, toLabel: string) {
  const fields = SNAPSHOT_FIELDS.filter((f) => f in changes);
  if (!fields.length) return html`<p class="meta">No field differs.</p>`;
  return html`<table>
  <colgroup><col class="field"><col><col></colgroup>
  <thead><tr><th>Field</th><th>${fromLabel}</th><th>${toLabel}</th></tr></thead>
  <tbody>${fields.map((f) => html`<tr><th scope="row">${f}</th><td class="from"><del>${show(changes[f].from)}</del></td><td class="to"><ins>${show(changes[f].to)}</ins></td></tr>`)}</tbody>
</table>`;
}

/** Where a page's links point: the bearer API paths, or signed history links (see links.ts). */
export interface HistoryLinks {
  changelog(page?: { limit: number; cursor: string }): string;
  history(version: number): string;
  diff(from: number, to: number): string;
}

/** Links to the API's own routes, for pages fetched with a bearer token. */
export function apiLinks(eventId: number): HistoryLinks {
  const base = `/api/events/${eventId}`;
  return {
    changelog: (page) => (page ? `${base}/changelog?limit=${page.limit}&cursor=${encodeURIComponent(page.cursor)}` : `${base}/changelog`),
    history: (version) => `${base}/history/${version}`,
    diff: (from, to) => `${base}/diff/${from}/${to}`,
  };
}

export function changelogPage(event: EventRow, entries: VersionEntry[], nextCursor: string | null, limit: number, links: HistoryLinks = apiLinks(event.id)) {
  const items = entries.map((entry) => {
    const previous = entry.version > 1 ? html` · <a href="${links.diff(entry.version - 1, entry.version)}">diff with v${entry.version - 1}</a>` : "";
    const restored = entry.restored_from ? html` (restored from <a href="${links.history(entry.restored_from)}">v${entry.restored_from}</a>)` : "";
    return html`<li id="v${entry.version}">
  <a href="${links.history(entry.version)}">v${entry.version}</a> ·
  <span class="meta">${when(entry.changed_at)}</span> ·
  <strong>${entry.changed_by.username}</strong> <span class="action">${entry.action.replace("_", " ")}</span>${restored}${previous}
  ${entry.action === "created" ? valuesTable(entry.changes) : changesTable(entry.changes, "Before", "After")}
</li>`;
  });
  const more = nextCursor ? html`<p><a rel="next" href="${links.changelog({ limit, cursor: nextCursor })}">Newer changes →</a></p>` : "";
  return layout(
    `History of ${event.title}`,
    html`<h1>History of “${event.title}”</h1>
<p class="meta">Event ${event.id}, current version ${event.version}, oldest change first. Each entry links to its snapshot and to a diff with the version before.</p>
<ul class="history">${items}</ul>${more}`,
  );
}

export function diffPage(event: EventRow, from: VersionEntry, to: VersionEntry, changes: Changes, between: VersionEntry[] = [], links: HistoryLinks = apiLinks(event.id)) {
  const label = (v: VersionEntry) => `v${v.version} (${v.changed_by.username}, ${v.changed_at.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC")})`;
  const steps = between.length
    ? html`<p class="meta">Versions in this span: ${between.map(
        (v, i) => html`${i ? " · " : ""}<a href="${links.history(v.version)}">v${v.version}</a> by <strong>${v.changed_by.username}</strong> (${Object.keys(v.changes).join(", ") || "no change"})`,
      )}</p>`
    : "";
  return layout(
    `Diff of ${event.title}: v${from.version} → v${to.version}`,
    html`<h1>“${event.title}”: v${from.version} ↔ v${to.version}</h1>
<p class="meta"><a href="${links.changelog()}">Full history</a>
${from.version > 1 ? html` · <a href="${links.diff(from.version - 1, from.version)}">← previous change</a>` : ""}
${to.version < event.version ? html` · <a href="${links.diff(to.version, to.version + 1)}">next change →</a>` : ""}</p>
${steps}
${changesTable(changes, label(from), label(to))}`,
  );
}

export function snapshotPage(event: EventRow, entry: VersionEntry, links: HistoryLinks = apiLinks(event.id)) {
  const v = entry.version;
  const restored = entry.restored_from ? html` (restored from <a href="${links.history(entry.restored_from)}">v${entry.restored_from}</a>)` : "";
  const nav = [
    html`<a href="${links.changelog()}">Full history</a>`,
    v > 1 ? html`<a href="${links.history(v - 1)}">← v${v - 1}</a>` : "",
    v > 1 ? html`<a href="${links.diff(v - 1, v)}">diff with v${v - 1}</a>` : "",
    v < event.version ? html`<a href="${links.diff(v, event.version)}">diff with current (v${event.version})</a>` : "",
    v < event.version ? html`<a href="${links.history(v + 1)}">v${v + 1} →</a>` : "",
  ].filter((link) => link !== "");
  return layout(
    `${entry.snapshot.title} at v${v}`,
    html`<h1>“${entry.snapshot.title}” at v${v}</h1>
<p class="meta">${entry.changed_by.username} <span class="action">${entry.action.replace("_", " ")}</span>${restored} at ${entry.changed_at}</p>
<p class="meta">${nav.map((link, i) => html`${i ? " · " : ""}${link}`)}</p>
<table>
  <thead><tr><th>Field</th><th>Value</th></tr></thead>
  <tbody>${SNAPSHOT_FIELDS.map((f) => html`<tr><th scope="row">${f}</th><td>${show(entry.snapshot[f])}</td></tr>`)}</tbody>
</table>`,
  );
}
