// Runs the channels benchmark (bench/channels.html) in a plain headless
// Chromium, not under Playwright or CDP, which would slow every frame. See
// bench/docs/channels.md. From the repository root:
//
//   cargo build -p tabwire-server && bash scripts/build.sh
//   node bench/run-channels.mjs
//
// Starts Redis on a free port, three reference servers (one with channels in
// memory, A and B sharing them in Redis), all with rate limits out of the
// way, and Chromium on the page; prints the page's figures and checks and
// writes bench/results/channels.json. Exits with 1 if a check failed.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { ROOT } from "../tests/e2e/helpers.mjs";
import { CHROMIUM, freePort, machine, printRows, run, runPage, SERVER_BIN, startBenchServerWith, startProcess, summary } from "./runner.mjs";

const RESULTS_FILE = path.join(ROOT, "bench", "results", "channels.json");
const RESULTS_TIMEOUT_MS = 90_000;
const REDIS = process.env.TABWIRE_REDIS ?? "/usr/bin/redis-server";
/** Every rate limit lifted: the default 5,000 messages/s per user (burst 20,000) would refuse a 10,000-message burst after the latency run. */
const UNLIMITED = [
  "--rate", "1000000", "--burst", "1000000", "--ip-rate", "1000000", "--ip-burst", "1000000",
  "--bytes-rate", "4000000000", "--bytes-burst", "4000000000",
  "--ip-bytes-rate", "4000000000", "--ip-bytes-burst", "4000000000",
];

async function startRedis() {
  const port = await freePort();
  await startProcess(REDIS, ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"], /Ready to accept connections/);
  return `redis://127.0.0.1:${port}`;
}

/** Latency summary and rate of one set-up, from the page's raw times. */
function figures({ latencyMs, throughput }, n) {
  const round = (value) => Math.round(value * 10) / 10;
  return {
    latencyMs: summary(latencyMs),
    throughput: { totalMs: round(throughput.totalMs), publishCallsMs: round(throughput.publishCallsMs), messagesPerSecond: Math.round(n / (throughput.totalMs / 1000)) },
  };
}

function rows({ oneServer, twoServers, rawEchoMs }, n) {
  const triple = ({ p50, p99, max }) => `${p50} / ${p99} / ${max}`;
  const ratio = (a, b) => Math.round((a / b) * 100) / 100;
  const setUp = (name, { latencyMs, throughput }) => [
    [`${name}: publish→listener p50 / p99 / max`, triple(latencyMs), "ms"],
    [`${name}: ${n.toLocaleString("en-US")} back to back, first publish to last delivery`, throughput.totalMs, "ms"],
    [`${name}: of which the publish() calls`, throughput.publishCallsMs, "ms"],
    [`${name}: throughput`, throughput.messagesPerSecond, "messages/s"],
  ];
  return [
    ...setUp("one server", oneServer),
    ...setUp("two servers + Redis", twoServers),
    ["raw WebSocket echo RTT p50 / p99 / max", triple(rawEchoMs), "ms"],
    ["ratio one server p50 / raw echo p50", ratio(oneServer.latencyMs.p50, rawEchoMs.p50), "x"],
    ["ratio two servers p50 / raw echo p50", ratio(twoServers.latencyMs.p50, rawEchoMs.p50), "x"],
    ["ratio two servers / one server throughput", ratio(twoServers.throughput.messagesPerSecond, oneServer.throughput.messagesPerSecond), "x"],
  ];
}

async function main() {
  const redis = await startRedis();
  // The page is served by the first; the other two let it in.
  const one = await startBenchServerWith(UNLIMITED);
  const shared = [...UNLIMITED, "--redis", redis, "--allow-origin", one];
  const [a, b] = await Promise.all([startBenchServerWith(shared), startBenchServerWith(shared)]);
  const ws = (origin) => `${origin.replace(/^http/, "ws")}/ws`;
  const host = machine();
  console.log(`servers ${SERVER_BIN}: one at ${one}, A and B at ${a} and ${b} sharing ${redis}`);
  console.log(`Chromium ${CHROMIUM}; machine: ${host.cpus} × ${host.cpu}, node ${host.node}`);
  const body = await runPage(one, "channels.html", { one: ws(one), a: ws(a), b: ws(b), run: Date.now().toString(36) }, RESULTS_TIMEOUT_MS);

  const n = body.counts.throughput;
  const results = {
    oneServer: figures(body.results.oneServer, n),
    twoServers: figures(body.results.twoServers, n),
    rawEchoMs: summary(body.results.rawEchoMs),
  };
  const output = { date: new Date().toISOString(), machine: host, server: path.relative(ROOT, SERVER_BIN), ...body, results };
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(output, null, 2)}\n`);

  console.log(`\n${body.userAgent}; timer resolution ${body.timerResolution}\n`);
  printRows(rows(results, n));
  console.log();
  for (const { name, ok, detail } of body.checks) console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${detail}`}`);
  console.log(`\nwrote ${path.relative(ROOT, RESULTS_FILE)}`);
  return body.checks.every((entry) => entry.ok) ? 0 : 1;
}

await run(main);
