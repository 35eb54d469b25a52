// The chaos scenario shared by the soak (run.mjs) and its short CI version
// (chaos.test.mjs): a group of tabs sharing one connection and one solo
// client publish numbered messages {tab, seq} to the channel "chaos" and
// listen to it, while faults are injected at seeded random times: dropped
// connections, a stalled server, a server killed and restarted on its
// port, a page offline, a tab reloaded, the leader tab closed (and a new
// tab opened in its place). At the end the faults stop, every tab drains,
// and the channel's record in Redis must hold every message sent exactly
// once and in each tab's order, and every tab must have received every
// message of the channel once, in offset order.
//
// Processes: a Redis (under `timeout`), the page server and the WebSocket
// server (tabwire-server, `--exit-after-secs`), Chromium (under `timeout`
// through bounded-chromium.sh): each stops by itself at the end of the
// run's budget even if this process dies.

import { execFile, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import net from "node:net";
import path from "node:path";

import { chromium } from "playwright-core";

import { CHROMIUM_ARGS, control, freePort, ROOT, sleep, startServer, withTimeout } from "../e2e/helpers.mjs";

const PAGES_DIR = path.join(ROOT, "tests", "chaos", "pages");
const BOUNDED_CHROMIUM = path.join(ROOT, "tests", "chaos", "bounded-chromium.sh");
const CHANNEL = "chaos";
/** The connections' tag: the scope of the ids Redis remembers (`tabwire:seen:<tag>:<id>`). */
const TAG = "chaos";
const DUPLICATES_KEY = `tabwire:duplicates:${TAG}`;
/**
 * Every client's options besides its URL, namespace and sharing: quick
 * retries, and a heartbeat short enough to notice a stalled server or an
 * offline page's held socket within 2 s.
 */
const CLIENT_OPTIONS = {
  reconnect: { minDelayMs: 100, maxDelayMs: 1000 },
  heartbeat: { intervalMs: 1000, timeoutMs: 1000 },
};
/** Upper bound of one wait for a page (load, ready, evaluate). */
const PAGE_MS = 30_000;
/** Upper bound of the drain: every tab open with an empty outbox, then every tab caught up. */
const DRAIN_MS = 90_000;
/** Seconds every process may live beyond the run's duration. */
const MARGIN_SECS = 300;

export const FAULT_KINDS = ["drop", "stall", "restart", "offline", "reload", "closeLeader"];

/** The checks of a run, each with what it asserts. */
export const CHECKS = {
  drain: "after the faults every tab is open, every outbox empty (in memory and in localStorage), every tab caught up",
  lost: "every message a tab sent is in the channel's record",
  record: "the record holds offsets 1..N, each (tab, seq) once, nothing that was not sent",
  order: "each tab's messages are in the record in the order it sent them, across its reloads",
  history: "a tab that (re)loaded received the channel's whole history (subscribed with since: 0)",
  delivery: "every tab received each message once, in offset order, as recorded, with no hole after its first",
  events: "no gap, rejected, expired or warning event in any tab",
  pages: "no uncaught page error or crash; one leader among the tabs; the solo client solo",
};

/** mulberry32: a small seeded generator, good enough to pick times and kinds. */
export function random(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (low, high) => Math.round(low + (high - low) * next()),
    /** A key of `weights` ({kind: weight}), with probability proportional to its weight. */
    pick(weights) {
      const entries = Object.entries(weights);
      let roll = next() * entries.reduce((sum, [, weight]) => sum + weight, 0);
      for (const [key, weight] of entries) {
        roll -= weight;
        if (roll < 0) return key;
      }
      return entries.at(-1)[0];
    },
  };
}

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

/** Debian's redis-server on `port`, without persistence, killed by `timeout` after `secs` at worst. */
async function startRedis(port, secs) {
  const child = spawn("timeout", [String(secs), "redis-server", "--bind", "127.0.0.1", "--port", String(port),
    "--save", "", "--appendonly", "no", "--loglevel", "warning"], { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    if (!(await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]))) child.kill("SIGKILL");
  };
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await sleep(50);
  }
  return { port, url: `redis://127.0.0.1:${port}`, stop };
}

/** Runs redis-cli against `port` and returns its answer, parsed from `--json`. */
function redisCli(port, ...args) {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--json", ...args],
      { maxBuffer: 512 * 1024 * 1024, timeout: 20_000 }, (error, stdout) => {
        if (error) reject(error);
        else resolve(JSON.parse(stdout));
      });
  });
}

/**
 * Runs the scenario for `durationMs` of faults with `seed` and resolves to
 * `{seed, counts, problems, closed}`: `problems` holds, per check of
 * CHECKS, what failed (every list empty when all passed); `closed`, the
 * tabs closed on the way. `tabs`: tabs in the shared group at any time.
 * `log`: progress lines. `trace`: a file for the progress lines and every
 * page's trace (role, states, publications and acks; see pages/chaos.js).
 */
export async function runChaos({ seed, durationMs, tabs = 3, log: report = () => {}, trace }) {
  const budgetSecs = Math.ceil(durationMs / 1000) + MARGIN_SECS;
  const startedAt = Date.now();
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)}s`;
  const setup = random(seed);
  const traceFile = trace ? createWriteStream(trace) : undefined;
  const log = (line) => {
    report(line);
    traceFile?.write(`${line}\n`);
  };
  const problems = Object.fromEntries(Object.keys(CHECKS).map((check) => [check, []]));
  const fail = (check, message) => problems[check].push(message);
  const faults = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0]));
  /** Every page error or crash, with its tab. */
  const pageTrouble = [];

  let redis;
  let pageServer;
  let wsServer;
  let browser;
  let wsPort;
  try {
    redis = await startRedis(await freePort(), budgetSecs);
    wsPort = await freePort();
    pageServer = await startServer({ www: PAGES_DIR, testControl: false, exitAfterSecs: budgetSecs });

    const startWs = async () => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          const remaining = Math.max(30, budgetSecs - Math.floor((Date.now() - startedAt) / 1000));
          wsServer = await startServer({
            port: wsPort, www: PAGES_DIR, exitAfterSecs: remaining,
            args: ["--redis", redis.url, "--history", "100000", "--history-secs", String(budgetSecs + 3600)],
          });
          return;
        } catch (error) {
          // The port may still be held by the process just killed.
          if (Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
    };
    await startWs();
    const wsControl = (route, params) => control(`http://127.0.0.1:${wsPort}`, route, params);

    browser = await withTimeout(chromium.launch({
      executablePath: BOUNDED_CHROMIUM,
      args: CHROMIUM_ARGS,
      env: { ...process.env, TABWIRE_CHAOS_BROWSER_SECS: String(budgetSecs) },
      timeout: 30_000,
    }), 35_000, "Chromium to start");
    const shared = await browser.newContext();
    const soloContext = await browser.newContext();

    /** The pages alive: {name, page, context, share}. */
    const live = [];
    const closed = [];
    let opened = 0;
    const ready = async (entry) => {
      await entry.page.waitForFunction(() => window.ready === true, null, { timeout: PAGE_MS, polling: 50 });
      const initError = await entry.page.evaluate(() => window.initError ?? null);
      if (initError) throw new Error(`tab ${entry.name} could not create its client: ${initError}`);
    };
    const openTab = async (share) => {
      const name = share ? `t${(opened += 1)}` : "solo";
      const url = new URL("/chaos.html", pageServer.origin);
      const options = {
        ...CLIENT_OPTIONS,
        url: `ws://127.0.0.1:${wsPort}/ws?tag=${TAG}`,
        queue: { key: share ? "chaos-tabs" : "chaos-solo" },
        share,
      };
      url.searchParams.set("options", JSON.stringify(options));
      url.searchParams.set("tab", name);
      url.searchParams.set("everyMs", String(setup.between(150, 350)));
      if (traceFile) url.searchParams.set("trace", "true");
      const context = share ? shared : soloContext;
      const page = await context.newPage();
      page.on("pageerror", (error) => pageTrouble.push(`${name}: uncaught ${error.message}`));
      page.on("crash", () => pageTrouble.push(`${name}: renderer crashed`));
      if (traceFile) {
        page.on("console", (message) => {
          if (message.text().startsWith("chaos ")) traceFile.write(`${elapsed()} ${message.text()}\n`);
        });
      }
      const entry = { name, page, context, share };
      await page.goto(url.toString(), { timeout: PAGE_MS });
      await ready(entry);
      live.push(entry);
      log(`${elapsed()} opened ${name}`);
      return entry;
    };
    for (let index = 0; index < tabs; index += 1) await openTab(true);
    await openTab(false);

    const until = Date.now() + durationMs;
    const fault = (kind, detail = "") => {
      faults[kind] += 1;
      log(`${elapsed()} fault ${kind}${detail ? ` ${detail}` : ""}`);
    };
    // Two lanes of faults, each with its own seeded sequence of pauses,
    // kinds and durations: the server's and the browser's. Within a lane
    // faults follow one another (a tab is never reloaded while its context
    // is offline); across lanes they overlap. Each kind: [weight, inject],
    // inject(rng, injected) calling injected(detail) as the fault begins.
    const lane = async (rng, kinds) => {
      const weights = Object.fromEntries(Object.entries(kinds).map(([kind, [weight]]) => [kind, weight]));
      for (;;) {
        await sleep(rng.between(1500, 6000));
        if (Date.now() >= until) return;
        const kind = rng.pick(weights);
        await kinds[kind][1](rng, (detail) => fault(kind, detail));
      }
    };
    const serverFaults = {
      drop: [3, async (rng, injected) => {
        const { dropped } = await wsControl("drop");
        injected(`(${dropped} connections)`);
      }],
      stall: [2, async (rng, injected) => {
        const stallMs = rng.between(1500, 4000);
        const { stalled } = await wsControl("stall");
        injected(`(${stalled} connections, ${stallMs} ms)`);
        await sleep(stallMs);
        await wsControl("resume");
      }],
      restart: [2, async (rng, injected) => {
        const downMs = rng.between(100, 500);
        await wsServer.stop("SIGKILL");
        injected(`(down ${downMs} ms)`);
        await sleep(downMs);
        await startWs();
      }],
    };
    const browserFaults = {
      offline: [2, async (rng, injected) => {
        const solo = rng.next() < 0.3;
        const offlineMs = rng.between(1000, 4000);
        const context = solo ? soloContext : shared;
        await context.setOffline(true);
        injected(`(${solo ? "solo" : "tabs"}, ${offlineMs} ms)`);
        await sleep(offlineMs);
        await context.setOffline(false);
      }],
      reload: [3, async (rng, injected) => {
        const entry = live[Math.floor(rng.next() * live.length)];
        injected(`(${entry.name})`);
        await entry.page.reload({ timeout: PAGE_MS });
        await ready(entry);
      }],
      closeLeader: [2, async (rng, injected) => {
        const leader = await leaderOf(live.filter((entry) => entry.share));
        if (!leader) {
          log(`${elapsed()} no leader to close within 5 s; skipped`);
          return;
        }
        injected(`(${leader.name})`);
        live.splice(live.indexOf(leader), 1);
        closed.push(leader.name);
        await leader.page.close();
        await openTab(true);
      }],
    };
    await Promise.all([lane(random(seed * 2 + 1), serverFaults), lane(random(seed * 2 + 2), browserFaults)]);
    log(`${elapsed()} faults stopped; draining`);

    for (const entry of live) await entry.page.evaluate(() => window.stopPublishing());
    const views = () => Promise.all(live.map((entry) => entry.page.evaluate(() => window.view())));
    const drained = await waitFor(DRAIN_MS, async () => {
      const all = await views();
      const done = all.every((view) => view.state === "open" && view.outbox === 0 && view.stored === 0);
      return { done, value: all };
    });
    if (!drained.done) fail("drain", `not drained after ${DRAIN_MS / 1000} s: ${JSON.stringify(drained.value)}`);
    const newest = Number((await redisCli(redis.port, "GET", `tabwire:offset:${CHANNEL}`)) ?? 0);
    const caughtUp = await waitFor(DRAIN_MS, async () => {
      const all = await views();
      return { done: all.every((view) => view.lastOffset >= newest), value: all };
    });
    if (!caughtUp.done) fail("drain", `not every tab received up to offset ${newest}: ${JSON.stringify(caughtUp.value)}`);
    log(`${elapsed()} drained: ${JSON.stringify(caughtUp.value)}`);

    // What the tabs say they sent (localStorage of each context), what the
    // server kept, and what each live tab received.
    const sent = {};
    for (const context of [shared, soloContext]) {
      const entry = live.find((candidate) => candidate.context === context);
      Object.assign(sent, await entry.page.evaluate(() => window.sentCounts()));
    }
    const stream = await redisCli(redis.port, "XRANGE", `tabwire:history:${CHANNEL}`, "-", "+");
    const duplicatesBeforeDedupe = Number((await redisCli(redis.port, "GET", DUPLICATES_KEY)) ?? 0);
    const pages = [];
    for (const entry of live) {
      pages.push(await entry.page.evaluate(() => ({
        tab: window.tab, loads: window.loads, role: window.tw.stats().role, received: window.received,
        gaps: window.gaps, rejected: window.rejected, expired: window.expired, refused: window.refused,
        errorKinds: [...new Set(window.errors.map((error) => error.kind))], warnings: window.warnings,
      })));
    }

    const record = checkRecord({ stream, newest, sent, fail });
    for (const view of pages) checkReceived({ view, record, fail });
    const roles = pages.map((view) => `${view.tab}:${view.role}`);
    if (pages.filter((view) => view.role === "leader").length !== 1) fail("pages", `not one leader: ${roles}`);
    if (pages.find((view) => view.tab === "solo")?.role !== "solo") fail("pages", `the solo client is not solo: ${roles}`);
    for (const trouble of pageTrouble) fail("pages", trouble);

    const messagesSent = Object.values(sent).reduce((sum, count) => sum + count, 0);
    const counts = {
      seed,
      minutes: +(durationMs / 60_000).toFixed(2),
      faults: Object.values(faults).reduce((sum, count) => sum + count, 0),
      ...Object.fromEntries(FAULT_KINDS.map((kind) => [`faults.${kind}`, faults[kind]])),
      tabs: Object.keys(sent).length,
      "tabs alive at the end": pages.length,
      "messages sent": messagesSent,
      "messages in the record": stream.length,
      lost: record.lost,
      "unexpected in the record": record.unexpected,
      "duplicates in the record": record.duplicates,
      "out of tab order": record.disorder,
      "duplicates seen before dedupe": duplicatesBeforeDedupe,
      "deliveries checked": pages.reduce((sum, view) => sum + view.received.length, 0),
      "refused sends (outbox full)": pages.reduce((sum, view) => sum + view.refused, 0),
      "error kinds in tabs": [...new Set(pages.flatMap((view) => view.errorKinds))].join(" ") || "-",
    };
    counts["failed checks"] = Object.entries(problems).filter(([, found]) => found.length).map(([check]) => check).join(" ") || "-";
    return { seed, counts, problems, closed };
  } finally {
    if (browser) await withTimeout(browser.close(), 15_000, "Chromium to close").catch(() => {});
    await wsServer?.stop("SIGKILL");
    await pageServer?.stop();
    await redis?.stop();
    if (traceFile) await new Promise((resolve) => traceFile.end(resolve));
  }
}

/** Which of `entries` leads (asked until one does, 5 s at most); undefined if none. */
async function leaderOf(entries) {
  const found = await waitFor(5_000, async () => {
    const roles = await Promise.all(entries.map((entry) => entry.page.evaluate(() => window.tw.stats().role)));
    const index = roles.indexOf("leader");
    return { done: index >= 0, value: entries[index] };
  });
  return found.done ? found.value : undefined;
}

/** Polls `check` (resolving to `{done, value}`) every 200 ms until done or `ms` passed; returns the last answer. */
async function waitFor(ms, check) {
  const deadline = Date.now() + ms;
  for (;;) {
    const answer = await check();
    if (answer.done || Date.now() > deadline) return answer;
    await sleep(200);
  }
}

/** Names the first few of `items`, for a problem's text. */
const some = (items) => `${items.slice(0, 10).join(", ")}${items.length > 10 ? `, … (${items.length} in all)` : ""}`;

/**
 * Checks the channel's stream against what was sent: offsets 1..newest,
 * each (tab, seq) once, every seq a tab sent present, none it did not,
 * each tab's seqs increasing with the offset. Returns the record as
 * `[offset, tab, seq]` and the counts.
 */
function checkRecord({ stream, newest, sent, fail }) {
  const record = stream.map(([id, fields]) => {
    const data = JSON.parse(fields[fields.indexOf("d") + 1]);
    return [Number(id.split("-")[1]), data?.tab, data?.seq];
  });
  const offsets = record.map(([offset]) => offset);
  const expectedOffsets = Array.from({ length: newest }, (_, index) => index + 1);
  if (offsets.join() !== expectedOffsets.join()) {
    fail("record", `the record's offsets are not 1..${newest}: ${offsets.length} entries from ${offsets[0]} to ${offsets.at(-1)}`);
  }
  const seen = new Map();
  const lastSeq = new Map();
  const duplicates = [];
  const unexpected = [];
  const disorder = [];
  for (const [offset, tab, seq] of record) {
    const key = `${tab}#${seq}`;
    if (seen.has(key)) duplicates.push(`${key} at ${seen.get(key)} and ${offset}`);
    else seen.set(key, offset);
    if (!(tab in sent) || !Number.isInteger(seq) || seq < 1 || seq > sent[tab]) unexpected.push(`${key} at ${offset}`);
    if (lastSeq.has(tab) && seq <= lastSeq.get(tab)) disorder.push(`${key} at ${offset} after #${lastSeq.get(tab)}`);
    lastSeq.set(tab, Math.max(seq, lastSeq.get(tab) ?? 0));
  }
  const lost = [];
  for (const [tab, count] of Object.entries(sent)) {
    for (let seq = 1; seq <= count; seq += 1) if (!seen.has(`${tab}#${seq}`)) lost.push(`${tab}#${seq}`);
  }
  if (lost.length) fail("lost", `lost (sent, not in the record): ${some(lost)}`);
  if (duplicates.length) fail("record", `published twice: ${some(duplicates)}`);
  if (unexpected.length) fail("record", `in the record but never sent: ${some(unexpected)}`);
  if (disorder.length) fail("order", `out of the tab's order: ${some(disorder)}`);
  return { record, lost: lost.length, duplicates: duplicates.length, unexpected: unexpected.length, disorder: disorder.length };
}

/**
 * Checks that a live tab received the whole record since it loaded, once
 * each, in offset order. Offsets missing before the first one it received
 * are the history it asked for with since: 0 (check `history`); one
 * missing after that is a hole in what it got (check `delivery`).
 */
function checkReceived({ view, record, fail }) {
  const { tab, received } = view;
  const byOffset = new Map(record.record.map((entry) => [entry[0], entry]));
  const counted = new Map();
  const wrong = [];
  let disorder = 0;
  for (const [index, [offset, from, seq]] of received.entries()) {
    counted.set(offset, (counted.get(offset) ?? 0) + 1);
    const kept = byOffset.get(offset);
    if (!kept || kept[1] !== from || kept[2] !== seq) wrong.push(`${offset}: ${from}#${seq}`);
    if (index > 0 && offset <= received[index - 1][0]) disorder += 1;
  }
  const missing = record.record.filter(([offset]) => !counted.has(offset)).map(([offset]) => offset);
  const repeated = [...counted].filter(([, times]) => times > 1).map(([offset, times]) => `${offset} ×${times}`);
  const first = received.length ? received[0][0] : Infinity;
  const before = missing.filter((offset) => offset < first);
  const holes = missing.filter((offset) => offset > first);
  if (before.length) {
    fail("history", `tab ${tab} (load ${view.loads}) missed the history before offset ${first}: ${some(before)}`);
  }
  if (holes.length) fail("delivery", `tab ${tab} (load ${view.loads}) missed offsets after its first (${first}): ${some(holes)}`);
  if (repeated.length) fail("delivery", `tab ${tab} (load ${view.loads}) received twice: ${some(repeated)}`);
  if (disorder) fail("delivery", `tab ${tab} (load ${view.loads}) received ${disorder} messages out of offset order`);
  if (wrong.length) fail("delivery", `tab ${tab} received messages unlike the record: ${some(wrong)}`);
  if (view.gaps.length) fail("events", `tab ${tab} saw gap events: ${JSON.stringify(view.gaps.slice(0, 5))}`);
  if (view.rejected.length) fail("events", `tab ${tab} saw rejected messages: ${JSON.stringify(view.rejected.slice(0, 5))}`);
  if (view.expired.length) fail("events", `tab ${tab} saw expired messages: ${some(view.expired)}`);
  if (view.warnings.length) fail("events", `tab ${tab} saw warnings: ${JSON.stringify(view.warnings.slice(0, 5))}`);
}

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
