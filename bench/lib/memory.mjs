import { readFileSync, writeFileSync } from "node:fs";

/**
 * workerd's memory from /proc/<pid>/status, in KiB: `rss` (VmRSS, resident now) and `hwm` (VmHWM,
 * the peak resident size since the process started or since resetPeakRss). Null when unreadable.
 */
export function memoryKibOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    const rss = field("VmRSS");
    const hwm = field("VmHWM");
    return Number.isFinite(rss) && Number.isFinite(hwm) ? { rss, hwm } : null;
  } catch {
    return null;
  }
}

/**
 * Resets VmHWM to the current RSS (writing 5 to /proc/<pid>/clear_refs, Linux 4.0+, allowed for
 * our own child), so the peak read after a case is the peak of that case alone, not of whatever
 * ran before it. Returns false when the kernel refuses; the peak then covers the whole run so far.
 */
export function resetPeakRss(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}
