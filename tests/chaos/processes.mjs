// The processes of the chaos scenarios, each bounded so that it stops by
// itself at the end of the run's budget even if the test process dies:
// Redis (under `timeout`), tabwire-server (`--exit-after-secs`), Chromium
// (under `timeout` through bounded-chromium.sh). Also how to crash them on
// purpose: Redis and tabwire-server are killed with SIGKILL (no close
// frames, no saved data) and started again on the same port.

import { execFile, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";

import { chromium } from "playwright-core";

import { CHROMIUM_ARGS, ROOT, sleep, startServer, withTimeout } from "../e2e/helpers.mjs";

const BOUNDED_CHROMIUM = path.join(ROOT, "tests", "chaos", "bounded-chromium.sh");
/** Seconds every process may live beyond the run's duration of faults. */
export const MARGIN_SECS = 300;

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Runs redis-cli against `port` and returns its answer, parsed from
 * `--json`; or, when the first argument is "--text", as redis-cli prints it.
 */
export function redisCli(port, ...args) {
  const text = args[0] === "--text";
  const rest = text ? args.slice(1) : ["--json", ...args];
  return new Promise((resolve, reject) => {
    execFile("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...rest],
      { maxBuffer: 512 * 1024 * 1024, timeout: 20_000 }, (error, stdout) => {
        if (error) return reject(error);
        try {
          resolve(text ? stdout : JSON.parse(stdout));
        } catch (parsing) {
          reject(new Error(`redis-cli ${rest.join(" ")}: ${parsing.message}`));
        }
      });
  });
}

/**
 * Debian's redis-server on `port`, without persistence, each start killed
 * by `timeout` once `deadline` (ms since the Unix epoch) passed at worst.
 * `crash()` SIGKILLs redis-server itself (not the `timeout` around it):
 * every key is gone. `start()` starts it again, empty, on the same port.
 */
export async function startRedis(port, deadline) {
  let child;
  let exited;
  const running = () => child && child.exitCode === null && child.signalCode === null;
  const spawnOnce = () => {
    const secs = Math.max(30, Math.ceil((deadline - Date.now()) / 1000));
    child = spawn("timeout", [String(secs), "redis-server", "--bind", "127.0.0.1", "--port", String(port),
      "--save", "", "--appendonly", "no", "--loglevel", "warning"], { stdio: ["ignore", "ignore", "ignore"] });
    exited = new Promise((resolve) => child.once("exit", resolve));
  };
  const start = async () => {
    const until = Date.now() + 10_000;
    spawnOnce();
    for (;;) {
      if (running() && (await canConnect(port))) return;
      if (Date.now() > until) {
        await stop();
        throw new Error(`redis-server did not start on port ${port}`);
      }
      await sleep(50);
      // The port may still have been held for a moment: try again.
      if (!running()) spawnOnce();
    }
  };
  const stop = async () => {
    if (!running()) return;
    child.kill("SIGTERM");
    if (!(await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]))) child.kill("SIGKILL");
  };
  const crash = async () => {
    const info = await redisCli(port, "--text", "INFO", "server");
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    if (!pid) throw new Error(`no process_id in redis INFO: ${info}`);
    process.kill(pid, "SIGKILL");
    await Promise.race([exited, sleep(5000)]);
    for (const until = Date.now() + 5000; Date.now() < until && (await canConnect(port));) await sleep(20);
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, start, stop, crash };
}

/**
 * tabwire-server on `port`, serving `www` with the test control API:
 * `start()` starts it (again, after `stop("SIGKILL")`, retrying while the
 * port is still held); `args`: more arguments; `allowOrigins`: the
 * origins of the pages that connect to it. Each start lives until
 * `deadline` at most.
 */
export function wsServer({ port, www, args, allowOrigins, deadline }) {
  const server = {
    port,
    origin: `http://127.0.0.1:${port}`,
    current: undefined,
    async start() {
      const until = Date.now() + 15_000;
      for (;;) {
        try {
          const exitAfterSecs = Math.max(30, Math.ceil((deadline - Date.now()) / 1000));
          server.current = await startServer({ port, www, exitAfterSecs, args, allowOrigins });
          return;
        } catch (error) {
          // The port may still be held by the process just killed.
          if (Date.now() > until) throw error;
          await sleep(100);
        }
      }
    },
    stop: (signal = "SIGKILL") => server.current?.stop(signal),
  };
  return server;
}

/** Debian's Chromium, killed by bounded-chromium.sh once `deadline` passed at worst. */
export function launchChromium(deadline) {
  const secs = Math.max(60, Math.ceil((deadline - Date.now()) / 1000));
  return withTimeout(chromium.launch({
    executablePath: BOUNDED_CHROMIUM,
    args: CHROMIUM_ARGS,
    env: { ...process.env, TABWIRE_CHAOS_BROWSER_SECS: String(secs) },
    timeout: 30_000,
  }), 35_000, "Chromium to start");
}

/** Closes the browser, bounded; never throws. */
export async function closeChromium(browser) {
  if (browser) await withTimeout(browser.close(), 15_000, "Chromium to close").catch(() => {});
}
