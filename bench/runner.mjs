// What the benchmark runners share: a results server the bench page posts
// to (and asks for actions the runner takes), a plain headless Chromium (no
// Playwright, no CDP: a driver attached to the page slows every frame), the
// page run on it, the reference server (also with extra options, on a given
// port, killable) and other processes such as Redis, cleanup of all of it,
// and a table printer.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

import { CHROMIUM_ARGS, ROOT, startServer, withTimeout } from "../tests/e2e/helpers.mjs";

export const SERVER_BIN = path.resolve(ROOT, process.env.TABWIRE_SERVER_BIN ?? "target/debug/tabwire-server");
const PKG_DIR = path.resolve(ROOT, process.env.TABWIRE_PKG_DIR ?? "pkg");
export const CHROMIUM = process.env.TABWIRE_CHROMIUM ?? "/usr/bin/chromium";
const START_TIMEOUT_MS = 15_000;

/** Undo steps, run last first by `cleanup`. */
export const cleanups = [];
export async function cleanup() {
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
export async function startBenchServer() {
  const server = await startServer({ www: path.join(ROOT, "bench"), exitAfterSecs: 300, timeoutMs: START_TIMEOUT_MS });
  cleanups.push(() => server.stop());
  return server.origin;
}

/**
 * Starts `command` under `timeout 600` (or `limitSecs`), so that it ends by
 * itself whatever becomes of this process, and resolves to the match of
 * `ready` in the first line of its stdout that has one. It is stopped at
 * cleanup. With `killable`, it runs in a process group of its own and the
 * match has a `kill()` that SIGKILLs it (and `timeout`) at once, as a crash
 * would.
 */
export async function startProcess(command, args, ready, { killable = false, limitSecs = 600 } = {}) {
  const child = spawn("timeout", [String(limitSecs), command, ...args], { stdio: ["ignore", "pipe", "pipe"], detached: killable });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  cleanups.push(() => stopChild(child, exited, { group: killable }));
  const output = [];
  child.stderr.setEncoding("utf8").on("data", (chunk) => output.push(chunk));
  const started = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      output.push(`${line}\n`);
      const match = ready.exec(line);
      if (match) resolve(match);
    });
    child.once("error", reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`${command} exited (code ${code}, signal ${signal}) before it was ready:\n${output.join("")}`)));
  });
  const match = await withTimeout(started, START_TIMEOUT_MS, `${command} to start`);
  if (killable) {
    match.kill = async () => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      await exited;
    };
  }
  return match;
}

/**
 * A reference server serving bench/ and pkg/, started with `args` besides,
 * on `port` (0: a free one), from `bin`, exiting by itself after
 * `exitAfterSecs`; resolves to `{origin, kill}`.
 */
export async function benchServer(args, { port = 0, bin = SERVER_BIN, exitAfterSecs = 300 } = {}) {
  const base = ["--host", "127.0.0.1", "--port", String(port), "--test-control", "--www", path.join(ROOT, "bench"), "--pkg", PKG_DIR];
  const command = [...base, "--exit-after-secs", String(exitAfterSecs), ...args];
  const match = await startProcess(bin, command, /listening on (http:\/\/\S+)$/, { killable: true, limitSecs: exitAfterSecs + 60 });
  return { origin: match[1], kill: match.kill };
}

/** A reference server serving bench/ and pkg/, started with `args` besides; resolves to its origin. */
export async function startBenchServerWith(args) {
  return (await benchServer(args)).origin;
}

/** Listens on a free port of 127.0.0.1. */
function listenLocally(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
}

/** A port of 127.0.0.1 that was free a moment ago, for a program that cannot pick its own. */
export async function freePort() {
  const server = net.createServer();
  await listenLocally(server);
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The results server: takes POST /log (progress lines), POST /results
 * (once), and POST to each route of `actions`, whose function gets the
 * posted JSON and resolves to the JSON answered (for steps only the runner
 * can take, such as killing a server).
 */
export async function startResultsServer(actions = {}) {
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
    if (request.method !== "POST" || !["/log", "/results", ...Object.keys(actions)].includes(request.url)) {
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
      const action = Object.hasOwn(actions, request.url) ? actions[request.url] : null;
      if (action) {
        action(body).then(
          (answer) => response.writeHead(200, { ...headers, "content-type": "application/json" }).end(JSON.stringify(answer ?? {})),
          (error) => response.writeHead(500, headers).end(String(error?.message ?? error)),
        );
        return;
      }
      response.writeHead(204, headers).end();
      if (request.url === "/log") console.log(`  page: ${body.line}`);
      else deliver(body);
    });
  });
  await listenLocally(server);
  cleanups.push(() => new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  }));
  return { origin: `http://127.0.0.1:${server.address().port}`, results };
}

/** Starts Chromium on `url`, with `extraArgs` after the usual ones; it ends by itself after 15 minutes. */
export function launchChromium(url, extraArgs = []) {
  const profile = mkdtempSync(path.join(os.tmpdir(), "tabwire-bench-"));
  cleanups.push(async () => rmSync(profile, { recursive: true, force: true }));
  const args = ["900", CHROMIUM, "--headless=new", ...CHROMIUM_ARGS, ...extraArgs, `--user-data-dir=${profile}`, url];
  // Its own process group, so that its helper processes go with it.
  const child = spawn("timeout", args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
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

/**
 * Opens bench/`page` in Chromium, with `params` and the results server in
 * its query, and resolves to what the page posts to /results. `actions`:
 * see `startResultsServer`; `chromiumArgs`: more command-line arguments.
 */
export async function runPage(origin, page, params, timeoutMs, { actions = {}, chromiumArgs = [] } = {}) {
  const report = await startResultsServer(actions);
  const query = new URLSearchParams({ ...params, report: report.origin });
  const chromium = launchChromium(`${origin}/${page}?${query}`, chromiumArgs);
  const early = chromium.exited.then(({ code, signal }) => {
    throw new Error(`Chromium exited (code ${code}, signal ${signal}) before the results:\n${chromium.stderr.join("")}`);
  });
  const body = await withTimeout(Promise.race([report.results, early]), timeoutMs, "the page's results");
  if (body.error) throw new Error(`the page failed: ${body.error}`);
  return body;
}

/** The p50, p95, p99 and max of `times` (ms), to `decimals` places. */
export function summary(times, decimals = 2) {
  const sorted = [...times].sort((a, b) => a - b);
  const scale = 10 ** decimals;
  const at = (q) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * scale) / scale;
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
}

/** Prints `[name, value, unit]` rows as an aligned table. */
export function printRows(rows) {
  const width = Math.max(...rows.map(([name]) => name.length));
  const valueWidth = Math.max(...rows.map(([, value]) => String(value).length));
  console.log(`${"name".padEnd(width)}  ${"value".padStart(valueWidth)}  unit`);
  console.log(`${"-".repeat(width)}  ${"-".repeat(valueWidth)}  ----------`);
  for (const [name, value, unit] of rows) console.log(`${name.padEnd(width)}  ${String(value).padStart(valueWidth)}  ${unit}`);
}

/**
 * Prints a Markdown table (padded, so that it also reads in a terminal):
 * `header` names the columns, each row has as many cells; the first column
 * is left-aligned, the others right-aligned.
 */
export function printTable(header, rows) {
  const widths = header.map((name, column) => Math.max(name.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells) => `| ${cells.map((cell, column) => (column ? String(cell).padStart(widths[column]) : String(cell).padEnd(widths[column]))).join(" | ")} |`;
  console.log(line(header));
  console.log(`| ${widths.map((width, column) => (column ? `${"-".repeat(width - 1)}:` : "-".repeat(width))).join(" | ")} |`);
  for (const row of rows) console.log(line(row));
}

/** The machine a figure was measured on. */
export function machine() {
  return { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version };
}

/** Runs `main` (which resolves to an exit status), cleaning up however it ends. */
export async function run(main) {
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
}
