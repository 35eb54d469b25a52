// What the chaos scenarios report, and how: progress lines (to the caller
// and to the trace file), problems per check, and the counts table.

import { createWriteStream } from "node:fs";

/**
 * The run's log: `log(line)` prefixes the time since the start and hands
 * the line to `report` and to the trace file (`trace`: a path, optional);
 * `trace(line)` writes to the trace file only (undefined without one).
 * `end()` closes the file.
 */
export function runLog({ report = () => {}, trace }) {
  const startedAt = Date.now();
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)}s`;
  const file = trace ? createWriteStream(trace) : undefined;
  return {
    log(line) {
      const stamped = `${elapsed()} ${line}`;
      report(stamped);
      file?.write(`${stamped}\n`);
    },
    trace: file ? (line) => file.write(`${elapsed()} ${line}\n`) : undefined,
    end: () => (file ? new Promise((resolve) => file.end(resolve)) : Promise.resolve()),
  };
}

/** `{problems, fail}`: a list of problems per check of `checks`, and `fail(check, message)` to add one. */
export function problemsOf(checks) {
  const problems = Object.fromEntries(Object.keys(checks).map((check) => [check, []]));
  const fail = (check, message) => {
    if (!problems[check]) throw new Error(`no check named ${check}`);
    problems[check].push(message);
  };
  return { problems, fail };
}

/** The checks that failed, space-separated, or "-". */
export const failedChecks = (problems) =>
  Object.entries(problems).filter(([, found]) => found.length).map(([check]) => check).join(" ") || "-";

/** Names the first few of `items`, for a problem's text. */
export const some = (items) => `${items.slice(0, 10).join(", ")}${items.length > 10 ? `, … (${items.length} in all)` : ""}`;

/** Every failed check's problems, one line each, or an empty string when none failed. */
export function formatProblems(problems) {
  return Object.entries(problems)
    .flatMap(([check, found]) => found.map((problem) => `- ${check}: ${problem}`))
    .join("\n");
}

/** The counts as a two-column table. */
export function formatCounts(counts) {
  const rows = Object.entries(counts);
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
}
