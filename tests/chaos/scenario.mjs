// The channel chaos scenario, shared by the soak (run.mjs) and its short
// CI runs (chaos.test.mjs on Redis, memory.test.mjs on the memory broker,
// http.test.mjs on the HTTP transport):
// a group of tabs sharing one connection and one solo client publish
// numbered messages {tab, seq} to the channel "chaos" and listen to it,
// while faults are injected at seeded random times (faults.mjs): dropped
// connections, a stalled server, a server killed and restarted on its
// port, the broker losing the channel's history (brokers.mjs: Redis
// killed, or the memory broker's server killed), a page offline, a tab
// reloaded, the leader tab closed (and a new tab opened in its place).
// The clients' transport is a choice of the run (transports.mjs): their
// defaults (the WebSocket), every client forced onto the HTTP transport
// (sse or polling), or a mix, the same faults hitting HTTP sessions.
//
// At the end the faults stop, every tab drains, and checks.mjs holds the
// channel's every history (epoch) against what the tabs sent and what each
// tab received: nothing sent lost, nothing published twice but what was in
// flight at a broker loss, each tab's order kept, and every message
// received once and in order, or its loss told by a `gap` event.
//
// Processes (processes.mjs) each stop by themselves at the end of the
// run's budget even if this process dies.

import path from "node:path";

import { control, freePort, ROOT, sleep, startServer } from "../e2e/helpers.mjs";
import { memoryBroker, redisBroker } from "./brokers.mjs";
import { CHECKS, checkReceived, checkRecord } from "./checks.mjs";
import { browserFaults, random, runLanes } from "./faults.mjs";
import { closeChromium, launchChromium, MARGIN_SECS, wsServer } from "./processes.mjs";
import { failedChecks, problemsOf, runLog } from "./report.mjs";
import { Tabs, waitFor } from "./tabs.mjs";
import { formatOpens, onHttpFaults, sessionGate, transportsOption, TRANSPORTS } from "./transports.mjs";

export { CHECKS } from "./checks.mjs";
export { formatCounts, formatProblems } from "./report.mjs";
export { TRANSPORTS } from "./transports.mjs";

const PAGES_DIR = path.join(ROOT, "tests", "chaos", "pages");
/** The connections' tag: the scope of the ids the server remembers. */
const TAG = "chaos";
/**
 * Every client's options besides its URL, namespace and sharing: quick
 * retries, and a heartbeat short enough to notice a stalled server or an
 * offline page's held socket within 2 s.
 */
const CLIENT_OPTIONS = {
  reconnect: { minDelayMs: 100, maxDelayMs: 1000 },
  heartbeat: { intervalMs: 1000, timeoutMs: 1000 },
};
/** Upper bound of each step of the drain: every tab open with an empty outbox, then every tab caught up. */
const DRAIN_MS = 90_000;
/** How long the tabs go on publishing once the faults stopped: the final epoch gets messages. */
const AFTER_FAULTS_MS = 2_500;

/** What the checks read of a page's load (evaluated in the page). */
const readView = () => ({
  tab: window.tab, loads: window.loads, firstSeq: window.firstSeq, role: window.tw.stats().role, received: window.received,
  gaps: window.gaps, rejected: window.rejected, expired: window.expired, refused: window.refused,
  errorKinds: [...new Set(window.errors.map((error) => error.kind))], warnings: window.warnings, opens: window.opens,
});

/** The brokers runChaos knows. */
export const BROKERS = ["redis", "memory"];

/**
 * Runs the scenario for `durationMs` of faults with `seed` and resolves to
 * `{seed, counts, problems, closed}`: `problems` holds, per check of
 * CHECKS, what failed (every list empty when all passed); `closed`, the
 * tabs closed on the way. `tabs`: tabs in the shared group at any time.
 * `broker`: "redis" (default) or "memory" (see brokers.mjs). `transport`:
 * what carries the clients' connections, one of TRANSPORTS ("default",
 * "sse", "polling", "mixed", "websocket"; see transports.mjs). `log`:
 * progress lines. `trace`: a file for the progress lines and every page's
 * trace (role, states, publications, acks, gaps; see pages/chaos.js).
 */
export async function runChaos({
  seed, durationMs, tabs: tabCount = 3, broker = "redis", transport = "default", log: report, trace,
}) {
  if (!BROKERS.includes(broker)) throw new Error(`unknown broker ${broker}: ${BROKERS.join(" or ")}`);
  if (!TRANSPORTS.includes(transport)) throw new Error(`unknown transport ${transport}: ${TRANSPORTS.join(", ")}`);
  const budgetSecs = Math.ceil(durationMs / 1000) + MARGIN_SECS;
  const deadline = Date.now() + budgetSecs * 1000;
  const { log, trace: traceLine, end } = runLog({ report, trace });
  const { problems, fail } = problemsOf(CHECKS);
  const setup = random(seed);
  const faults = {};
  const onHttp = {};

  let channel;
  let pageServer;
  let ws;
  let browser;
  let contexts = [];
  try {
    const wsPort = await freePort();
    const gate = sessionGate({ contexts: () => contexts, port: wsPort });
    channel = broker === "memory"
      ? memoryBroker({ ws: () => ws, tag: TAG, refuseSessions: gate.set })
      : await redisBroker({ port: await freePort(), deadline, tag: TAG, log });
    pageServer = await startServer({ www: PAGES_DIR, testControl: false, exitAfterSecs: budgetSecs });
    ws = wsServer({
      port: wsPort, www: PAGES_DIR, deadline, allowOrigins: [pageServer.origin],
      args: [...channel.serverArgs, "--history", "100000", "--history-secs", String(budgetSecs + 3600)],
    });
    await ws.start();
    const wsControl = (route, params) => control(ws.origin, route, params);

    browser = await launchChromium(deadline);
    const shared = await browser.newContext();
    const soloContext = await browser.newContext();
    contexts = [shared, soloContext];
    const tabs = new Tabs({ origin: pageServer.origin, log, trace: traceLine, capture: (entry) => entry.page.evaluate(readView) });
    let opened = 0;
    const openTab = (share) => {
      const name = share ? `t${(opened += 1)}` : "solo";
      const options = {
        ...CLIENT_OPTIONS,
        ...transportsOption(transport, { share, number: opened }),
        url: `ws://127.0.0.1:${ws.port}/ws?tag=${TAG}`,
        queue: { key: share ? "chaos-tabs" : "chaos-solo" },
        share,
      };
      const query = { options: JSON.stringify(options), everyMs: setup.between(150, 350) };
      if (traceLine) query.trace = "true";
      return tabs.open({ context: share ? shared : soloContext, name, pathname: "/chaos.html", query: { ...query, tab: name } });
    };
    for (let index = 0; index < tabCount; index += 1) await openTab(true);
    await openTab(false);

    const serverFaults = onHttpFaults(channel.serverFaults({
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
        await ws.stop("SIGKILL");
        injected(`(down ${downMs} ms)`);
        await sleep(downMs);
        await ws.start();
      }],
    }), { tabs, counts: onHttp });
    const browserLane = onHttpFaults(
      browserFaults({ tabs, shared, other: soloContext, openShared: () => openTab(true), log }),
      { tabs, counts: onHttp },
    );
    const kinds = [...Object.keys(serverFaults), ...Object.keys(browserLane)];
    for (const kind of kinds) faults[kind] = 0;
    await runLanes({ seed, until: Date.now() + durationMs, server: serverFaults, browser: browserLane, counts: faults, log });
    log(`faults stopped; publishing ${AFTER_FAULTS_MS} ms more, then draining`);
    await sleep(AFTER_FAULTS_MS);

    await tabs.each(() => window.stopPublishing());
    const drained = await waitFor(DRAIN_MS, async () => {
      const all = await tabs.each(() => window.view());
      const done = all.every((view) => view.state === "open" && view.outbox === 0 && view.stored === 0);
      return { done, value: all };
    });
    if (!drained.done) fail("drain", `not drained after ${DRAIN_MS / 1000} s: ${JSON.stringify(drained.value)}`);
    const final = await channel.now();
    const caughtUp = await waitFor(DRAIN_MS, async () => {
      const all = await tabs.each(() => window.view());
      const done = all.every((view) => final.newest === 0 || (view.lastEpoch === final.epoch && view.lastOffset >= final.newest));
      return { done, value: all };
    });
    if (!caughtUp.done) fail("drain", `not every tab received up to offset ${final.newest} of epoch ${final.epoch}: ${JSON.stringify(caughtUp.value)}`);
    log(`drained: ${JSON.stringify(caughtUp.value)}`);

    // What the tabs say they sent (localStorage of each context), what the
    // broker kept in each epoch, and what each live tab received.
    const sent = {};
    for (const context of [shared, soloContext]) {
      const entry = tabs.live.find((candidate) => candidate.context === context);
      Object.assign(sent, await entry.page.evaluate(() => window.sentCounts()));
    }
    const epochs = await channel.epochs();
    const pages = await tabs.each(readView);
    const loads = [...tabs.ended, ...pages];
    // The last seq of a load that ended (reloaded: the one before the next
    // load's first; closed: the tab's last) may have been numbered and not
    // published: the page ended between the two.
    const cut = new Set([
      ...loads.filter((view) => view.firstSeq > 1).map((view) => `${view.tab}#${view.firstSeq - 1}`),
      ...tabs.closed.map((name) => `${name}#${sent[name]}`),
    ]);
    const record = checkRecord({ epochs, sent, cut, fail });
    const delivered = [
      ...tabs.ended.map((view) => checkReceived({ view, record, fail, ended: true })),
      ...pages.map((view) => checkReceived({ view, record, fail })),
    ];
    const roles = pages.map((view) => `${view.tab}:${view.role}`);
    if (pages.filter((view) => view.role === "leader").length !== 1) fail("pages", `not one leader: ${roles}`);
    if (pages.find((view) => view.tab === "solo")?.role !== "solo") fail("pages", `the solo client is not solo: ${roles}`);
    for (const trouble of tabs.trouble) fail("pages", trouble);

    const sum = (values) => values.reduce((total, value) => total + value, 0);
    const counts = {
      seed,
      minutes: +(durationMs / 60_000).toFixed(2),
      broker,
      transport,
      faults: sum(Object.values(faults)),
      ...Object.fromEntries(kinds.map((kind) => [`faults.${kind}`, faults[kind]])),
      "faults on HTTP (a client on sse or polling)": sum(Object.values(onHttp)),
      "faults on HTTP by kind": kinds.map((kind) => `${kind} ${onHttp[kind] ?? 0}`).join(", "),
      "opens by transport (leaders and solo)": formatOpens(loads.map((view) => view.opens)),
      ...(broker === "memory" ? { "HTTP session opens refused in the browser (restarts)": gate.refused } : {}),
      "broker losses (epochs archived)": channel.archive.length,
      "epochs in the record": epochs.length,
      tabs: Object.keys(sent).length,
      "tabs alive at the end": pages.length,
      "messages sent": sum(Object.values(sent)),
      "messages in the record": record.counts.messages,
      lost: record.counts.lost,
      "numbered, then cut short by the page's end": record.counts.cutShort,
      "lost silently (missing offset without gap)": sum(delivered.map(({ silent }) => silent)),
      "republished after broker loss": record.counts.republished,
      "unexpected in the record": record.counts.unexpected,
      "duplicates within an epoch": record.counts.duplicates,
      "out of tab order": record.counts.disorder,
      "duplicates seen before dedupe": sum(epochs.map(({ duplicates }) => duplicates)),
      "loads checked (ended on the way + live)": `${tabs.ended.length} + ${pages.length}`,
      "deliveries checked": sum(loads.map((view) => view.received.length)),
      "gap events (reset)": sum(loads.map((view) => view.gaps.filter((gap) => gap.reason === "reset").length)),
      "offsets covered by gap events": sum(delivered.map(({ covered }) => covered)),
      "refused sends (outbox full)": sum(loads.map((view) => view.refused)),
      "error kinds in tabs": [...new Set(loads.flatMap((view) => view.errorKinds))].join(" ") || "-",
    };
    counts["failed checks"] = failedChecks(problems);
    return { seed, counts, problems, closed: tabs.closed };
  } finally {
    await closeChromium(browser);
    await ws?.stop("SIGKILL");
    await pageServer?.stop();
    await channel?.stop();
    await end();
  }
}

