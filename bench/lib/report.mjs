/** Plain-text tables for the terminal. */

export function fmt(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  if (typeof value !== "number") return String(value);
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const times = (value) => (value === null || value === undefined || !Number.isFinite(value) ? "-" : `${fmt(value, 2)}×`);

/** Renders rows (arrays of cells) under a header, right-aligning every column but the first. */
export function table(header, rows) {
  const all = [header, ...rows].map((row) => row.map((cell) => String(cell ?? "")));
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]?.length ?? 0)));
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  return [line(all[0]), widths.map((w) => "-".repeat(w)).join("  "), ...all.slice(1).map(line)].join("\n");
}

export const section = (title) => `\n== ${title} ==`;

/** The same table as GitHub-flavoured markdown (for bench/results/latest.md and bench/RESULTS.md). */
export function markdownTable(header, rows) {
  const cell = (value) => String(value ?? "").replaceAll("|", "\\|");
  const line = (row) => `| ${row.map(cell).join(" | ")} |`;
  return [line(header), `|${header.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`, ...rows.map(line)].join("\n");
}

/** Plain text for the terminal, markdown for the results file: the same report, two renderings. */
export const renderers = {
  text: { table, section, note: (line) => line, item: (line) => line, code: (line) => line },
  markdown: { table: markdownTable, section: (title) => `\n## ${title}\n`, note: (line) => `\n${line}\n`, item: (line) => `- ${line}`, code: (line) => `\n\`\`\`text\n${line}\n\`\`\`\n` },
};
