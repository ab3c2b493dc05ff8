import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { EventRow } from "../events/policy";
import { SNAPSHOT_FIELDS, type Changes, type VersionEntry } from "./service";

/**
 * Server-rendered history pages in the spirit of a wiki's page history: who changed what and
 * when, old and new values side by side, links between versions. No client script; every value
 * goes through hono/html's escaping. The style is a static asset (site/static/history.css).
 */

const show = (value: unknown) => {
  if (value === null || value === undefined) return html`<em>none</em>`;
  if (value === "") return html`<em>empty text</em>`;
  return html`<code>${typeof value === "string" ? value : JSON.stringify(value)}</code>`;
};

function layout(title: string, body: HtmlEscapedString | Promise<HtmlEscapedString>) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title><link rel="stylesheet" href="/static/history.css"></head>
<body>${body}</body></html>`;
}

/** A readable UTC time that machines can still read from `datetime`. */
const readable = (iso: string) => iso.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC");
const when = (iso: string) => html`<time datetime="${iso}">${readable(iso)}</time>`;

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

/** Where a page's links point: signed history links (see links.ts), so every page opens in a plain tab. */
export interface HistoryLinks {
  changelog(page?: { limit: number; cursor: string }): string;
  history(version: number): string;
  diff(from: number, to: number): string;
}

export function changelogPage(event: EventRow, entries: VersionEntry[], nextCursor: string | null, limit: number, links: HistoryLinks) {
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

export function diffPage(event: EventRow, from: VersionEntry, to: VersionEntry, changes: Changes, between: VersionEntry[] = [], links: HistoryLinks) {
  const label = (v: VersionEntry) => `v${v.version} (${v.changed_by.username}, ${readable(v.changed_at)})`;
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

export function snapshotPage(event: EventRow, entry: VersionEntry, links: HistoryLinks) {
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
