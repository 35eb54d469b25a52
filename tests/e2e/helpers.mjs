// Shared helpers of the end-to-end tests: the reference server and Chromium.

import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const RESULTS_DIR = path.join(ROOT, "test-results");

const SERVER_BIN = path.resolve(ROOT, process.env.TABWIRE_SERVER_BIN ?? "target/debug/tabwire-server");
/** The wasm-pack output to serve at /pkg/; the repository's pkg/ unless TABWIRE_PKG_DIR names another. */
const PKG_DIR = path.resolve(ROOT, process.env.TABWIRE_PKG_DIR ?? "pkg");
const CHROMIUM = process.env.TABWIRE_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Rejects after `ms` with `what` in the message, unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts tabwire-server (by default on a free port, serving www/, with the
 * test control API) and resolves to `{ origin, process, stop(signal),
 * output() }` once it announced its address. `args`: more command-line
 * arguments (e.g. `["--demo"]`); `allowOrigins`: the origins of pages
 * served elsewhere that connect to it (`--allow-origin`). `stop("SIGKILL")` ends it abruptly, as a
 * crash would, with no close frames.
 */
export async function startServer({
  port = 0,
  www = path.join(ROOT, "www"),
  testControl = true,
  exitAfterSecs = 120,
  timeoutMs = 15_000,
  args = [],
  allowOrigins = [],
} = {}) {
  const command = [
    "--host", "127.0.0.1",
    "--port", String(port),
    "--www", www,
    "--pkg", PKG_DIR,
    "--exit-after-secs", String(exitAfterSecs),
    ...args,
    ...allowOrigins.flatMap((origin) => ["--allow-origin", origin]),
  ];
  if (testControl) command.push("--test-control");
  const child = spawn(SERVER_BIN, command, { stdio: ["ignore", "pipe", "pipe"] });
  const stderr = [];
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });

  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const stop = async (signal = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const gone = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
    if (!gone) {
      child.kill("SIGKILL");
      await Promise.race([exited, sleep(2000)]);
    }
  };

  const announced = new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const match = /^tabwire-server listening on (http:\/\/\S+)$/.exec(line.trim());
      if (match) resolve(match[1]);
    });
    child.once("error", (error) => reject(new Error(`cannot start ${SERVER_BIN}: ${error.message}`)));
    exited.then(({ code, signal }) =>
      reject(new Error(`tabwire-server exited (code ${code}, signal ${signal}) before announcing:\n${stderr.join("")}`)));
  });

  let origin;
  try {
    origin = await withTimeout(announced, timeoutMs, "tabwire-server to print its address");
  } catch (error) {
    await stop();
    throw error;
  }
  return { origin, process: child, stop, output: () => stderr.join("") };
}

/** Calls a `/control/*` route and returns its JSON; throws on HTTP errors. */
export async function control(origin, route, params = {}, timeoutMs = 10_000) {
  const url = new URL(`/control/${route}`, origin);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
  const response = await fetch(url, { method: "POST", signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.json();
  if (!response.ok) throw new Error(`${url.pathname}${url.search}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * Launches Debian's Chromium headless. With `backForwardCache`, pages may go
 * into the back/forward cache (Playwright turns it off by default).
 */
export function launchBrowser({ backForwardCache = false } = {}) {
  const ignoreDefaultArgs = backForwardCache ? ["--disable-back-forward-cache"] : [];
  return withTimeout(
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, ignoreDefaultArgs, timeout: 30_000 }),
    35_000,
    "Chromium to start",
  );
}

/** Closes a browser, bounded; never throws (it may be gone already). */
export async function closeBrowser(browser) {
  if (browser) await withTimeout(browser.close(), 10_000, "Chromium to close").catch(() => {});
}

export function resultsPath(name) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return path.join(RESULTS_DIR, name);
}
