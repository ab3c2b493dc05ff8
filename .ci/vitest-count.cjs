// Prints "<passed> <failed>" from a vitest JSON report (argv[2]); "0 1" if it cannot be read. A
// file that fails to load has no tests, so it counts as one failure and cannot pass silently.
try {
  const r = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
  const brokenFiles = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed")).length;
  console.log(`${r.numPassedTests} ${r.numFailedTests + brokenFiles}`);
} catch {
  console.log("0 1");
}
