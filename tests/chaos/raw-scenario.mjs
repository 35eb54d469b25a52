// The raw chaos scenario, shared by the soak (run.mjs --raw) and its short
// CI run (raw.test.mjs): tabs whose TabWire options are only `{ url }`
// (sharing on, everything else default) against a server tabwire did not
// write, Node's `ws` with no options, echoing every frame
// (tests/foreign/servers.mjs). A group of tabs in one context and a lone
// tab in another send numbered text messages with send() and record the
// echoes, while seeded faults hit (faults.mjs): the server killed and
// restarted on its port, its sockets terminated, a context offline, a tab
// reloaded, the shared group's leader closed (and a new tab opened).
//
// Default options mean: no subprotocol offered, the connection found raw
// (the server does not greet), no heartbeat pings; a message sent while
// down waits in the localStorage outbox and leaves it once a socket took
// it; one in flight when its connection dies is lost (at most once).
// raw-checks.mjs holds the server's record and the tabs' against that.

import path from "node:path";

import { freePort, ROOT, sleep, startServer } from "../e2e/helpers.mjs";
import { nodeWs } from "../foreign/servers.mjs";
import { browserFaults, random, runLanes } from "./faults.mjs";
import { closeChromium, launchChromium, MARGIN_SECS } from "./processes.mjs";
import { checkArrivals, checkTab, RAW_CHECKS } from "./raw-checks.mjs";
import { failedChecks, problemsOf, runLog, some } from "./report.mjs";
import { Tabs, waitFor } from "./tabs.mjs";

export { RAW_CHECKS } from "./raw-checks.mjs";

const PAGES_DIR = path.join(ROOT, "tests", "chaos", "pages");
/** Upper bound of the drain: default reconnect delays reach 30 s. */
const DRAIN_MS = 90_000;
/** How long the tabs go on sending once the faults stopped. */
const AFTER_FAULTS_MS = 2_500;
/** How long frames in flight get to reach the server after the drain. */
const SETTLE_MS = 1_000;

/** What the checks read of a page's load (evaluated in the page). */
const readView = () => ({
  tab: window.tab, loads: window.loads, role: window.tw.stats().role, opens: window.opens,
  echoes: window.echoes, refused: window.refused, warnings: window.warnings,
  errorKinds: [...new Set(window.errors.map((error) => error.kind))],
});

/**
 * Starts Node's `ws` echo server on `port` and keeps, besides its record
 * of connections, every frame in arrival order across connections:
 * `arrivals` of `{text, connection}` (the connection's id in the record).
 */
function echoServer(lifetimeMs) {
  const server = nodeWs({ lifetimeMs });
  const arrivals = [];
  const watch = () => {
    server.wss.on("connection", (socket) => {
      // servers.mjs recorded the connection in its own listener, just before.
      const { id } = server.connections.at(-1);
      socket.on("message", (data, isBinary) => {
        arrivals.push({ text: isBinary ? `binary:${data.length}` : data.toString("utf8"), connection: id });
      });
    });
  };
  return {
    server,
    arrivals,
    async start(port) {
      await server.start(port);
      watch();
    },
    /** Terminates every socket from the server's side (no close frame); returns how many. */
    drop() {
      const sockets = [...(server.wss?.clients ?? [])];
      for (const socket of sockets) socket.terminate();
      return sockets.length;
    },
    stop: () => server.stop(),
  };
}

/**
 * Every WebSocket the pages opened, as Chromium reports it to Playwright:
 * `sockets` of `{id, tab, sent: [text of each frame it took], closed}`.
 * `watch(page, name)` follows one page (across its reloads); a page closed
 * or navigated (reloaded) closes its sockets. `trace(line)`, if given,
 * gets every socket event.
 */
function browserSockets(trace = () => {}) {
  const sockets = [];
  return {
    sockets,
    watch(page, name) {
      const mine = [];
      page.on("websocket", (socket) => {
        const record = { id: sockets.length + 1, tab: name, sent: [], closed: false };
        sockets.push(record);
        mine.push(record);
        trace(`socket #${record.id} of ${name} created`);
        socket.on("framesent", ({ payload }) => {
          const text = typeof payload === "string" ? payload : `binary:${payload.length}`;
          trace(`socket #${record.id} of ${name} took ${text}`);
          record.sent.push(text);
        });
        socket.on("close", () => {
          trace(`socket #${record.id} of ${name} closed`);
          record.closed = true;
        });
      });
      const gone = (why) => {
        trace(`page of ${name} ${why}`);
        for (const record of mine) record.closed = true;
      };
      page.on("close", () => gone("closed"));
      page.on("framenavigated", (frame) => {
        if (frame === page.mainFrame()) gone("navigated");
      });
    },
  };
}

/**
 * Runs the raw scenario for `durationMs` of faults with `seed` and
 * resolves to `{seed, counts, problems, lostInFlight}` (`problems`: per
 * check of RAW_CHECKS). `tabs`: tabs in the shared group at any time.
 * `log`: progress lines; `trace`: a file for them and every page's trace.
 */
export async function runRaw({ seed, durationMs, tabs: tabCount = 3, log: report, trace }) {
  const budgetSecs = Math.ceil(durationMs / 1000) + MARGIN_SECS;
  const deadline = Date.now() + budgetSecs * 1000;
  const { log, trace: traceLine, end } = runLog({ report, trace });
  const { problems, fail } = problemsOf(RAW_CHECKS);
  const setup = random(seed);
  const faults = {};

  let pageServer;
  let echo;
  let browser;
  try {
    pageServer = await startServer({ www: PAGES_DIR, testControl: false, exitAfterSecs: budgetSecs });
    const port = await freePort();
    echo = echoServer(budgetSecs * 1000);
    await echo.start(port);
    const url = `ws://127.0.0.1:${port}/chaos`;

    browser = await launchChromium(deadline);
    const shared = await browser.newContext();
    const lone = await browser.newContext();
    const { sockets, watch } = browserSockets(traceLine);
    const tabs = new Tabs({
      origin: pageServer.origin, log, trace: traceLine, watch, capture: (entry) => entry.page.evaluate(readView),
    });
    let opened = 0;
    const openTab = (context) => {
      const name = context === shared ? `t${(opened += 1)}` : "lone";
      const query = { url, tab: name, everyMs: setup.between(150, 350) };
      if (traceLine) query.trace = "true";
      return tabs.open({ context, name, pathname: "/raw.html", query });
    };
    for (let index = 0; index < tabCount; index += 1) await openTab(shared);
    await openTab(lone);

    const serverLane = {
      drop: [3, async (rng, injected) => {
        injected(`(${echo.drop()} sockets terminated)`);
      }],
      restart: [2, async (rng, injected) => {
        const downMs = rng.between(100, 500);
        await echo.stop();
        injected(`(down ${downMs} ms)`);
        await sleep(downMs);
        await echo.start(port);
      }],
    };
    const browserLane = browserFaults({ tabs, shared, other: lone, openShared: () => openTab(shared), log });
    const kinds = [...Object.keys(serverLane), ...Object.keys(browserLane)];
    for (const kind of kinds) faults[kind] = 0;
    await runLanes({ seed, until: Date.now() + durationMs, server: serverLane, browser: browserLane, counts: faults, log });
    log(`faults stopped; sending ${AFTER_FAULTS_MS} ms more, then draining`);
    await sleep(AFTER_FAULTS_MS);

    await tabs.each(() => window.stopPublishing());
    const drained = await waitFor(DRAIN_MS, async () => {
      const all = await tabs.each(() => window.view());
      return { done: all.every((view) => view.state === "open" && view.outbox === 0 && view.stored === 0), value: all };
    });
    if (!drained.done) fail("drain", `not drained after ${DRAIN_MS / 1000} s: ${JSON.stringify(drained.value)}`);
    await sleep(SETTLE_MS);
    log(`drained: ${JSON.stringify(drained.value)}`);

    const receipts = {};
    for (const context of [shared, lone]) {
      const entry = tabs.live.find((candidate) => candidate.context === context);
      Object.assign(receipts, await entry.page.evaluate(() => window.receipts()));
    }
    const pages = await tabs.each(readView);
    const loads = [...tabs.ended, ...pages];
    const arrivals = [...echo.arrivals];
    const { counts: found, lostInFlight } = checkArrivals({
      connections: echo.server.connections, arrivals, receipts, sockets: sockets.map((socket) => ({ ...socket })), fail,
    });
    const arrived = new Set(arrivals.map(({ text }) => text));
    for (const view of loads) checkTab({ view, arrived, fail });
    const leaders = pages.filter((view) => view.tab !== "lone" && view.role === "leader");
    if (leaders.length !== 1) fail("pages", `not one leader in the shared group: ${pages.map((view) => `${view.tab}:${view.role}`)}`);
    for (const trouble of tabs.trouble) fail("pages", trouble);
    if (lostInFlight.length) log(`lost in flight (raw, at most once): ${some(lostInFlight)}`);
    traceLine?.(`lost in flight (raw, at most once): ${lostInFlight.join(", ") || "none"}`);

    const sum = (values) => values.reduce((total, value) => total + value, 0);
    const counts = {
      seed,
      minutes: +(durationMs / 60_000).toFixed(2),
      server: echo.server.kind,
      faults: sum(Object.values(faults)),
      ...Object.fromEntries(kinds.map((kind) => [`faults.${kind}`, faults[kind]])),
      tabs: Object.keys(receipts).length,
      "tabs alive at the end": pages.length,
      "connections the server saw": echo.server.connections.length,
      "sockets the browser opened": sockets.length,
      "subprotocols offered": echo.server.connections.filter((connection) => connection.offered !== null).length,
      "loads checked (ended on the way + live)": `${tabs.ended.length} + ${pages.length}`,
      "opens (every load)": sum(loads.map((view) => view.opens.length)),
      "messages sent": found.sent,
      "of which queued (sent while down)": found.queued,
      "numbered as the page ended (sent or not)": found.cutShort,
      "frames the server got": found.arrived,
      "tabwire frames the server got": found.protocolFrames,
      "taken or received twice": found.twice,
      "out of tab order": found.disorder,
      "lost, never taken by a socket": found.neverTaken,
      "lost, taken by a socket that lived on": found.lostFromLiveSocket,
      "lost in flight (raw, at most once)": found.lostInFlight,
      "queued, then lost in flight (flushed onto a socket that died)": found.queuedLostInFlight,
      "echoes received (every load)": sum(loads.map((view) => view.echoes.length)),
      "refused sends (outbox full)": sum(loads.map((view) => view.refused)),
      "warnings in tabs": sum(loads.map((view) => view.warnings.length)),
      "error kinds in tabs": [...new Set(loads.flatMap((view) => view.errorKinds))].join(" ") || "-",
    };
    counts["failed checks"] = failedChecks(problems);
    return { seed, counts, problems, lostInFlight };
  } finally {
    await closeChromium(browser);
    await echo?.stop();
    await pageServer?.stop();
    await end();
  }
}
