// What the benchmark runners share: a results server the bench page posts
// to, a plain headless Chromium (no Playwright, no CDP: a driver attached to
// the page slows every frame), the reference server, cleanup of all of it,
// and a table printer.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

import { CHROMIUM_ARGS, ROOT, startServer } from "../tests/e2e/helpers.mjs";

export const SERVER_BIN = path.resolve(ROOT, process.env.TABWIRE_SERVER_BIN ?? "target/debug/tabwire-server");
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

/** The results server: takes POST /log (progress lines) and POST /results (once). */
export async function startResultsServer() {
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

export function launchChromium(url) {
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

/** Prints `[name, value, unit]` rows as an aligned table. */
export function printRows(rows) {
  const width = Math.max(...rows.map(([name]) => name.length));
  const valueWidth = Math.max(...rows.map(([, value]) => String(value).length));
  console.log(`${"name".padEnd(width)}  ${"value".padStart(valueWidth)}  unit`);
  console.log(`${"-".repeat(width)}  ${"-".repeat(valueWidth)}  ----------`);
  for (const [name, value, unit] of rows) console.log(`${name.padEnd(width)}  ${String(value).padStart(valueWidth)}  ${unit}`);
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
