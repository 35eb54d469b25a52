// Runs the outbox benchmark (bench/outbox.html) in a plain headless Chromium,
// not under Playwright or CDP, which would slow every frame. See
// bench/README.md. From the repository root:
//
//   cargo build -p tabwire-server && bash scripts/build.sh
//   node bench/run-outbox.mjs
//
// Starts the reference server (serving bench/ and pkg/), a small results
// server of its own, and Chromium on the page; waits for the page to POST its
// results, prints them and writes bench/results/outbox.json.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

import { CHROMIUM_ARGS, ROOT, startServer, withTimeout } from "../tests/e2e/helpers.mjs";

const SERVER_BIN = path.resolve(ROOT, process.env.TABWIRE_SERVER_BIN ?? "target/debug/tabwire-server");
const CHROMIUM = process.env.TABWIRE_CHROMIUM ?? "/usr/bin/chromium";
const RESULTS_FILE = path.join(ROOT, "bench", "results", "outbox.json");
const RESULTS_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 15_000;
/** Messages per measurement: `--n N` (default 10,000, the figure of bench/README.md). */
const N = (() => {
  const index = process.argv.indexOf("--n");
  const n = index === -1 ? 10_000 : Number(process.argv[index + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 20_000) throw new Error("--n: a whole number from 1 to 20000");
  return n;
})();
const COUNT = N.toLocaleString("en-US");

const cleanups = [];
async function cleanup() {
  while (cleanups.length > 0) {
    await cleanups.pop()().catch((error) => console.error(`cleanup: ${error.message}`));
  }
}

/** Waits for `child` to exit, killing it (and its process group with `group`) if needed. */
async function stopChild(child, exited, { group = false } = {}) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const kill = (signal) => {
    try {
      if (group) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  kill("SIGTERM");
  const gone = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
  if (!gone) {
    kill("SIGKILL");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
  }
}

/** The reference server serving bench/ and pkg/, stopped at the end. */
async function startBenchServer() {
  const server = await startServer({ www: path.join(ROOT, "bench"), exitAfterSecs: 300, timeoutMs: START_TIMEOUT_MS });
  cleanups.push(() => server.stop());
  return server.origin;
}

/** The results server: takes POST /log (progress lines) and POST /results (once). */
async function startResultsServer() {
  let deliver;
  const results = new Promise((resolve) => {
    deliver = resolve;
  });
  const server = http.createServer((request, response) => {
    const headers = {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": "POST, OPTIONS",
      "access-control-allow-headers": "content-type",
    };
    if (request.method === "OPTIONS") {
      response.writeHead(204, headers).end();
      return;
    }
    if (request.method !== "POST" || !["/log", "/results"].includes(request.url)) {
      response.writeHead(404, headers).end();
      return;
    }
    const chunks = [];
    let size = 0;
    request.on("data", (chunk) => {
      size += chunk.length;
      if (size <= 1_000_000) chunks.push(chunk);
    });
    request.on("end", () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        response.writeHead(400, headers).end();
        return;
      }
      response.writeHead(204, headers).end();
      if (request.url === "/log") console.log(`  page: ${body.line}`);
      else deliver(body);
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  cleanups.push(() => new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  }));
  return { origin: `http://127.0.0.1:${server.address().port}`, results };
}

function launchChromium(url) {
  const profile = mkdtempSync(path.join(os.tmpdir(), "tabwire-bench-"));
  cleanups.push(async () => rmSync(profile, { recursive: true, force: true }));
  const args = ["--headless=new", ...CHROMIUM_ARGS, `--user-data-dir=${profile}`, url];
  // Its own process group, so that its helper processes go with it.
  const child = spawn(CHROMIUM, args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  const stderr = [];
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr.push(chunk);
    if (stderr.length > 100) stderr.shift();
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.once("error", (error) => console.error(`cannot start ${CHROMIUM}: ${error.message}`));
  cleanups.push(() => stopChild(child, exited, { group: true }));
  return { exited, stderr };
}

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
  const width = Math.max(...rows.map(([name]) => name.length));
  const valueWidth = Math.max(...rows.map(([, value]) => String(value).length));
  console.log(`${"name".padEnd(width)}  ${"value".padStart(valueWidth)}  unit`);
  console.log(`${"-".repeat(width)}  ${"-".repeat(valueWidth)}  ----------`);
  for (const [name, value, unit] of rows) console.log(`${name.padEnd(width)}  ${String(value).padStart(valueWidth)}  ${unit}`);
}

async function main() {
  const origin = await startBenchServer();
  const report = await startResultsServer();
  const ws = `${origin.replace(/^http/, "ws")}/ws`;
  const url = `${origin}/outbox.html?ws=${encodeURIComponent(ws)}&report=${encodeURIComponent(report.origin)}&n=${N}`;
  console.log(`server ${SERVER_BIN} at ${origin}; Chromium ${CHROMIUM}`);
  const chromium = launchChromium(url);
  const early = chromium.exited.then(({ code, signal }) => {
    throw new Error(`Chromium exited (code ${code}, signal ${signal}) before the results:\n${chromium.stderr.join("")}`);
  });
  const body = await withTimeout(Promise.race([report.results, early]), RESULTS_TIMEOUT_MS, "the page's results");
  if (body.error) throw new Error(`the page failed: ${body.error}`);

  const output = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
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

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    cleanup().finally(() => process.exit(130));
  });
}

let status = 1;
try {
  status = await main();
} catch (error) {
  console.error(`benchmark failed: ${error.stack ?? error}`);
} finally {
  await cleanup();
}
process.exit(status);
