// Runs the outbox benchmark (bench/outbox.html) in a plain headless Chromium,
// not under Playwright or CDP, which would slow every frame. See
// bench/docs/outbox.md. From the repository root:
//
//   cargo build -p tabwire-server && bash scripts/build.sh
//   node bench/run-outbox.mjs
//
// Starts the reference server (serving bench/ and pkg/), a small results
// server of its own, and Chromium on the page; waits for the page to POST its
// results, prints them and writes bench/results/outbox.json.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { ROOT } from "../tests/e2e/helpers.mjs";
import { CHROMIUM, machine, printRows, run, runPage, SERVER_BIN, startBenchServer } from "./runner.mjs";

const RESULTS_FILE = path.join(ROOT, "bench", "results", "outbox.json");
const RESULTS_TIMEOUT_MS = 120_000;
/** Messages per measurement: `--n N` (default 10,000, the figure of bench/docs/outbox.md). */
const N = (() => {
  const index = process.argv.indexOf("--n");
  const n = index === -1 ? 10_000 : Number(process.argv[index + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 20_000) throw new Error("--n: a whole number from 1 to 20000");
  return n;
})();
const COUNT = N.toLocaleString("en-US");

function printTable(r) {
  const rows = [
    ["localStorage.setItem (floor)", r.floor.setItemUs, "µs/op"],
    ["localStorage.removeItem", r.floor.removeItemUs, "µs/op"],
    ["enqueue: send() while offline", r.enqueue.usPerMessage, "µs/message"],
    [`enqueue: total for ${COUNT}`, r.enqueue.totalMs, "ms"],
    [`restore: new TabWire() with ${COUNT} stored`, r.restore.totalMs, "ms"],
    ["restore: per message", r.restore.usPerMessage, "µs/message"],
    [`outbox() listing ${COUNT}`, r.restore.outboxListMs, "ms"],
    [`backlog: reconnect() to last ack (${COUNT})`, r.backlog.totalMs, "ms"],
    ["backlog: delivery rate", r.backlog.messagesPerSecond, "messages/s"],
    ["backlog: open event at", r.backlog.openAtMs, "ms"],
    ["backlog: first ack at", r.backlog.firstAckAtMs, "ms"],
    [`raw WebSocket: new to last echo (${COUNT})`, r.raw.totalMs, "ms"],
    ["raw WebSocket: rate", r.raw.messagesPerSecond, "messages/s"],
    ["ratio enqueue / setItem", r.ratios.enqueueOverSetItem, "x"],
    ["ratio tabwire backlog / raw", r.ratios.backlogOverRaw, "x"],
  ];
  printRows(rows);
}

async function main() {
  const origin = await startBenchServer();
  const ws = `${origin.replace(/^http/, "ws")}/ws`;
  console.log(`server ${SERVER_BIN} at ${origin}; Chromium ${CHROMIUM}`);
  const body = await runPage(origin, "outbox.html", { ws, n: N }, RESULTS_TIMEOUT_MS);

  const output = {
    date: new Date().toISOString(),
    machine: machine(),
    server: path.relative(ROOT, SERVER_BIN),
    ...body,
  };
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(output, null, 2)}\n`);

  console.log();
  printTable(body.results);
  console.log();
  const failed = body.checks.filter((check) => !check.ok);
  for (const check of body.checks) console.log(`${check.ok ? "ok  " : "FAIL"} ${check.name}${check.ok ? "" : `: ${check.detail}`}`);
  console.log(`\nwrote ${path.relative(ROOT, RESULTS_FILE)}`);
  return failed.length === 0 ? 0 : 1;
}

await run(main);
