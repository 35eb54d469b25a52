// Runs the transports benchmark (bench/transports.html): echo latency,
// throughput, channel delivery and time to open over the raw browser
// WebSocket and tabwire on each of its transports ("websocket", "sse",
// "polling"), and a polling subscriber resuming a channel, in one page
// load of a plain headless Chromium (not under Playwright or CDP, which
// would slow every frame). See bench/docs/transports.md.
// From the repository root:
//
//   cargo build --release -p tabwire-server && bash scripts/build.sh
//   TABWIRE_SERVER_BIN=target/release/tabwire-server node bench/run-transports.mjs [--n 5000]
//
// Starts the reference server (rate limits and compression out of the way)
// and Chromium on /isolated/transports.html; prints the page's figures,
// with ratios against the raw WebSocket of the same run, the checks and a
// one-line summary, and writes bench/results/transports.json. Exits with 1
// if a check failed.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { ROOT } from "../tests/e2e/helpers.mjs";
import { benchServer, CHROMIUM, machine, printTable, run, runPage, SERVER_BIN, summary } from "./runner.mjs";

const RESULTS_FILE = path.join(ROOT, "bench", "results", "transports.json");
/** Frames uncompressed, so that the figures are the transports' and not zlib's; no rate limit in the way of the bursts. */
const SERVER_ARGS = [
  "--no-compression",
  "--rate", "1000000", "--burst", "1000000", "--ip-rate", "1000000", "--ip-burst", "1000000",
  "--bytes-rate", "4000000000", "--bytes-burst", "4000000000",
  "--ip-bytes-rate", "4000000000", "--ip-bytes-burst", "4000000000",
];
const RESULTS_TIMEOUT_MS = 600_000;
const SERVER_SECS = 720;

/** `--n N`: the messages of a throughput burst. */
function burstSize() {
  const index = process.argv.indexOf("--n");
  if (index < 0) return 5_000;
  const n = Number(process.argv[index + 1]);
  if (!Number.isInteger(n) || n < 100 || n > 100_000 || n % 10) throw new Error("--n takes a multiple of 10 from 100 to 100,000");
  return n;
}

const CONFIG = {
  bytes: 64,
  opens: 10,
  echo: { count: 2_000, warmUp: 200, rounds: 10 },
  throughput: { count: burstSize(), reps: 5 },
  channel: { count: 1_000, warmUp: 100, rounds: 10 },
  /** Publications a polling subscriber misses, then resumes: the server's default history. */
  resume: 1_000,
  pauseMs: 50,
};

const ROWS = ["raw WebSocket", "tabwire websocket", "tabwire sse", "tabwire polling"];
const TABWIRE = ROWS.slice(1);
const RAW = ROWS[0];
/** The echo table's last row: one POST, as an HTTP send makes, answered at once. */
const BARE_POST = "bare fetch POST (404)";

const round = (value, decimals = 0) => Math.round(value * 10 ** decimals) / 10 ** decimals;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const ratio = (a, b) => round(a / b, 2);
/** Requests of each kind per `per` units (messages or round trips), e.g. `send 1, poll 1.5`. */
const perUnit = (requests, per) => Object.entries(requests).map(([kind, n]) => `${kind} ${round(n / per, 3)}`).join(", ");

function figures({ opens, echo, throughput, channel, resume }) {
  const raw = {
    open: median(opens[RAW].ms),
    echo: summary(echo[RAW].echoMs, 3).p50,
    rate: null,
  };
  const out = { opens: {}, echo: {}, throughput: {}, channel: {}, resume: { ...resume, ms: round(resume.ms) } };
  const bare = summary(echo[BARE_POST].echoMs, 3);
  out.echo[BARE_POST] = { echoMs: bare, ackMs: null, ratio: ratio(bare.p50, raw.echo), requestsPerRoundTrip: "" };
  for (const row of ROWS) {
    const open = opens[row];
    out.opens[row] = { coldMs: round(open.coldMs, 2), medianMs: round(median(open.ms), 2), maxMs: round(Math.max(...open.ms), 2), ratio: ratio(median(open.ms), raw.open) };
    const { echoMs, ackMs, requests } = echo[row];
    out.echo[row] = { echoMs: summary(echoMs, 3), ackMs: ackMs.length ? summary(ackMs, 3) : null, ratio: ratio(summary(echoMs, 3).p50, raw.echo), requestsPerRoundTrip: perUnit(requests, echoMs.length) };
    const runs = throughput[row];
    const rates = runs.map(({ totalMs }) => CONFIG.throughput.count / (totalMs / 1000));
    const rate = median(rates);
    if (row === RAW) raw.rate = rate;
    const requestsTotal = {};
    for (const { requests: made } of runs) for (const [kind, n] of Object.entries(made)) requestsTotal[kind] = (requestsTotal[kind] ?? 0) + n;
    out.throughput[row] = {
      perSecond: round(rate),
      runs: rates.map((value) => round(value)),
      ratio: ratio(rate, raw.rate),
      usPerMessage: round(1e6 / rate, 1),
      sendCallsMs: round(median(runs.map(({ sendCallsMs }) => sendCallsMs)), 1),
      requestsPerThousand: perUnit(requestsTotal, (runs.length * CONFIG.throughput.count) / 1000),
    };
  }
  for (const row of TABWIRE) {
    const times = summary(channel[row], 3);
    out.channel[row] = { ms: times, ratioToWebsocket: ratio(times.p50, summary(channel["tabwire websocket"], 3).p50), ratioToRawEcho: ratio(times.p50, raw.echo) };
  }
  return out;
}

function printFigures(out) {
  console.log(`\nTime to the first open: a fresh client per set-up, constructor to open event, ms (${CONFIG.opens} each after a cold one)\n`);
  printTable(["set-up", "cold", "median", "max", "× raw (median)"], ROWS.map((row) => {
    const { coldMs, medianMs, maxMs, ratio: times } = out.opens[row];
    return [row, coldMs, medianMs, maxMs, `${times}×`];
  }));

  console.log(`\nEcho round trip: ${CONFIG.echo.count} sequential ${CONFIG.bytes} B messages, send() to the echo (and to the ack), ms\n`);
  printTable(["set-up", "p50", "p95", "p99", "max", "× raw (p50)", "ack p50", "ack p99", "requests per round trip"], [...ROWS, BARE_POST].map((row) => {
    const { echoMs, ackMs, ratio: times, requestsPerRoundTrip } = out.echo[row];
    return [row, echoMs.p50, echoMs.p95, echoMs.p99, echoMs.max, `${times}×`, ackMs?.p50 ?? "", ackMs?.p99 ?? "", requestsPerRoundTrip];
  }));

  console.log(`\nThroughput: ${CONFIG.throughput.count} messages back to back, first send() to the last ack (raw: echo), median of ${CONFIG.throughput.reps} runs\n`);
  printTable(["set-up", "messages/s", "runs", "× raw", "µs per message", "send() calls, ms", "requests per 1,000 messages"], ROWS.map((row) => {
    const { perSecond, runs, ratio: times, usPerMessage, sendCallsMs, requestsPerThousand } = out.throughput[row];
    return [row, perSecond, runs.join(" / "), `${times}×`, usPerMessage, sendCallsMs, requestsPerThousand];
  }));

  console.log(`\nChannel delivery: ${CONFIG.channel.count} sequential publications from a second client (on "websocket"), publish() to the listener, ms\n`);
  printTable(["subscriber", "p50", "p95", "p99", "max", "× websocket (p50)", "× raw echo (p50)"], TABWIRE.map((row) => {
    const { ms, ratioToWebsocket, ratioToRawEcho } = out.channel[row];
    return [row, ms.p50, ms.p95, ms.p99, ms.max, `${ratioToWebsocket}×`, `${ratioToRawEcho}×`];
  }));

  const { count, received, ms, requests } = out.resume;
  console.log(`\nResume: a polling subscriber reconnecting after ${count} publications got ${received} in ${ms} ms (reconnect() to the last), requests ${perUnit(requests, 1)}`);
}

/** One line for the README: the p50s, rates and opens of this run. */
function summaryLine(out, date) {
  const name = (row) => row.replace(/^tabwire /, "").replace(/^raw WebSocket$/, "raw");
  const echo = ROWS.map((row) => `${name(row)} ${out.echo[row].echoMs.p50}${row === RAW ? "" : ` (${out.echo[row].ratio}×)`}`).join(", ");
  const rate = ROWS.map((row) => `${name(row)} ${out.throughput[row].perSecond.toLocaleString("en-US")}${row === RAW ? "" : ` (${out.throughput[row].ratio}×)`}`).join(", ");
  const channel = TABWIRE.map((row) => `${name(row)} ${out.channel[row].ms.p50}`).join(", ");
  const open = ROWS.map((row) => `${name(row)} ${out.opens[row].medianMs}`).join(", ");
  return `transports ${date.slice(0, 10)}: echo p50 ms ${echo}; messages/s ${rate}; channel p50 ms ${channel}; open ms ${open}; polling resume of ${out.resume.count.toLocaleString("en-US")} ${out.resume.ms} ms`;
}

async function main() {
  const begun = Date.now();
  const host = machine();
  const server = await benchServer(SERVER_ARGS, { exitAfterSecs: SERVER_SECS });
  console.log(`server ${path.relative(ROOT, SERVER_BIN)} ${SERVER_ARGS.join(" ")} at ${server.origin}; Chromium ${CHROMIUM}; machine: ${host.cpus} × ${host.cpu}, node ${host.node}`);
  const params = { ws: `${server.origin.replace(/^http/, "ws")}/ws`, run: Date.now().toString(36), config: JSON.stringify(CONFIG) };
  const body = await runPage(server.origin, "isolated/transports.html", params, RESULTS_TIMEOUT_MS);

  const out = figures(body.results);
  const date = new Date().toISOString();
  const seconds = round((Date.now() - begun) / 1000);
  const line = summaryLine(out, date);
  const output = {
    date,
    machine: host,
    server: `${path.relative(ROOT, SERVER_BIN)} ${SERVER_ARGS.join(" ")}`,
    userAgent: body.userAgent,
    timerResolution: body.timerResolution,
    config: CONFIG,
    seconds,
    summary: line,
    figures: out,
    modes: body.results.modes,
    checks: body.checks,
    raw: body.results,
  };
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(output, null, 2)}\n`);

  console.log(`\n${body.userAgent}; timer resolution ${body.timerResolution}; page ${round(body.results.pageSeconds, 1)} s`);
  printFigures(out);
  console.log();
  for (const { name, ok, detail } of body.checks) console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${detail}`}`);
  console.log(`\n${line}`);
  console.log(`\nwrote ${path.relative(ROOT, RESULTS_FILE)} in ${seconds} s`);
  return body.checks.every((entry) => entry.ok) ? 0 : 1;
}

await run(main);
