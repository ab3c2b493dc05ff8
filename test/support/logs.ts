import { onTestFinished, vi } from "vitest";

export interface ErrorLogs {
  /** Each console.error call as one line: its arguments, errors as `name: message`. */
  readonly lines: string[];
  readonly count: number;
}

const describe = (value: unknown) => (value instanceof Error ? `${value.name}: ${value.message}` : typeof value === "string" ? value : JSON.stringify(value));

/**
 * Keeps the error logs a test provokes on purpose (a fault injected into D1, a broken hub) instead
 * of printing them, so a green run prints no stack traces; the test asserts how many there were and
 * what they say. Call it inside the test: the capture ends with that test, and errors logged
 * anywhere else still print.
 *
 * @example
 * const logs = expectErrorLogs();
 * await sendWith({ DB: faultyDatabase(env.DB, 0) }, request);
 * expect(logs.lines).toEqual([expect.stringMatching(/^request \S+ failed:/)]);
 */
export function expectErrorLogs(): ErrorLogs {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    lines.push(args.map(describe).join(" "));
  });
  onTestFinished(() => spy.mockRestore());
  return {
    lines,
    get count() {
      return lines.length;
    },
  };
}
