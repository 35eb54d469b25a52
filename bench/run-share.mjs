// Runs the sharing benchmark. From the repository root:
//
//   cargo build -p tabwire-server && bash scripts/build.sh
//   node bench/run-share.mjs [--runs N]
//
// 1. Latency and connection counts: bench/share.html in a plain headless
//    Chromium, no driver attached; its tabs are same-origin iframes.
// 2. Failover: three tabs (pages of one Playwright context); the leader is
//    closed, reloaded or crashed, and the time from its end to the socket of
//    the next leader opening is measured, --runs times each (default 10).
//    Playwright is needed to end tabs; it does not change how fast the
//    browser hands a Web Lock over.
// Prints a table and writes bench/results/share.json.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { closeBrowser, launchBrowser, ROOT, sleep } from "../tests/e2e/helpers.mjs";
import { CHROMIUM, machine, printRows, run, runPage, SERVER_BIN, startBenchServer } from "./runner.mjs";

const RESULTS_FILE = path.join(ROOT, "bench", "results", "share.json");
const RESULTS_TIMEOUT_MS = 120_000;
const WAIT_MS = 15_000;
const RUNS = (() => {
  const index = process.argv.indexOf("--runs");
  const runs = index === -1 ? 10 : Number(process.argv[index + 1]);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new Error("--runs: a whole number from 1 to 100");
  return runs;
})();
const RUN = Date.now().toString(36);

/** Latency and connection counts, measured by the page itself. */
async function pageFigures(origin) {
  const ws = `${origin.replace(/^http/, "ws")}/ws`;
  return (await runPage(origin, "share.html", { ws, run: RUN }, RESULTS_TIMEOUT_MS)).results;
}

/** Polls `check` on `pages` until one page satisfies it; returns that page. */
async function firstWhere(pages, check) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    for (const page of pages) {
      if (await page.evaluate(check).catch(() => false)) return page;
    }
    await sleep(5);
  }
  throw new Error("timed out waiting for a leader");
}

const leads = () => window.role?.() === "leader" && window.tw.state === "open";

/** One failover: ms from the leader's end to the next leader's socket opening. */
async function failover(browser, origin, kind, run) {
  const key = `failover-${kind}-${run}-${RUN}`;
  const ws = `${origin.replace(/^http/, "ws")}/ws?tag=${key}`;
  const url = `${origin}/share-tab.html?ws=${encodeURIComponent(ws)}&key=${key}`;
  const context = await browser.newContext();
  try {
    const pages = [];
    for (let index = 0; index < 3; index += 1) {
      const page = await context.newPage();
      await page.goto(url, { timeout: WAIT_MS });
      pages.push(page);
    }
    const leader = await firstWhere(pages, leads);
    const rest = pages.filter((page) => page !== leader);
    await Promise.all(rest.map((page) => page.waitForFunction(() => window.tw.state === "open", null, { timeout: WAIT_MS })));
    const endedAt = Date.now();
    if (kind === "close") await leader.close();
    else if (kind === "reload") await leader.reload({ waitUntil: "commit", timeout: WAIT_MS });
    else (await context.newCDPSession(leader)).send("Page.crash").catch(() => {});
    const next = await firstWhere(rest, leads);
    const openedAt = await next.evaluate(() => window.opens.at(-1));
    return openedAt - endedAt;
  } finally {
    await context.close();
  }
}

async function failovers(origin) {
  const browser = await launchBrowser();
  try {
    const figures = {};
    for (const kind of ["close", "reload", "crash"]) {
      const times = [];
      for (let run = 0; run < RUNS; run += 1) times.push(await failover(browser, origin, kind, run));
      times.sort((a, b) => a - b);
      const round = (v) => Math.round(v * 10) / 10;
      figures[kind] = { runs: RUNS, medianMs: round(times[Math.floor((times.length - 1) / 2)]), maxMs: round(times.at(-1)), allMs: times.map(round) };
    }
    return figures;
  } finally {
    await closeBrowser(browser);
  }
}

function rows(page, failover) {
  const { leaderRoundTripMs: leader, followerBehindLeaderMs: behind, bareBroadcastChannelMs: bare, rawWebSocketRoundTripMs: raw } =
    page.latency;
  const table = [
    ["failover, leader closed: median / max", `${failover.close.medianMs} / ${failover.close.maxMs}`, "ms"],
    ["failover, leader reloaded: median / max", `${failover.reload.medianMs} / ${failover.reload.maxMs}`, "ms"],
    ["failover, leader crashed: median / max", `${failover.crash.medianMs} / ${failover.crash.maxMs}`, "ms"],
    ["leader: echo round trip p50 / p99", `${leader.p50} / ${leader.p99}`, "ms"],
    ["raw WebSocket echo round trip p50 / p99", `${raw.p50} / ${raw.p99}`, "ms"],
    [`follower behind leader p50 / p99 (${page.latency.followers} followers)`, `${behind.p50} / ${behind.p99}`, "ms"],
    ["bare BroadcastChannel, same frames: p50 / p99", `${bare.p50} / ${bare.p99}`, "ms"],
  ];
  for (const { tabs, share, connections, leaders } of page.connections) {
    table.push([`server connections, ${tabs} tab(s), share ${share ? "on" : "off"}`, connections, `(${leaders} leader)`]);
  }
  return table;
}

async function main() {
  const origin = await startBenchServer();
  console.log(`server ${SERVER_BIN} at ${origin}; Chromium ${CHROMIUM}; failover runs: ${RUNS}`);
  const page = await pageFigures(origin);
  const failover = await failovers(origin);
  const output = { date: new Date().toISOString(), machine: machine(), page, failover };
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(output, null, 2)}\n`);
  console.log();
  printRows(rows(page, failover));
  console.log(`\ntimer resolution in the pages: ${page.timerResolution}; failover measured under Playwright`);
  console.log(`wrote ${path.relative(ROOT, RESULTS_FILE)}`);
  const shared = page.connections.filter((entry) => entry.share);
  const ok = shared.every((entry) => entry.connections === 1 && entry.leaders === 1);
  if (!ok) console.log("FAIL: shared tabs did not end with one connection and one leader");
  return ok ? 0 : 1;
}

await run(main);
