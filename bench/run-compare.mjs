// Runs the comparison benchmark: the raw browser WebSocket,
// reconnecting-websocket, partysocket and tabwire (solo, leader, follower
// tab) on the same workloads, in a plain headless Chromium (not under
// Playwright or CDP, which would slow every frame). See bench/docs/compare.md.
// From the repository root:
//
//   cargo build --release -p tabwire-server && bash scripts/build.sh
//   node bench/run-compare.mjs        # or npm run bench:compare
//
// 1. Bundles the npm libraries with the workspace's vite: the builds the
//    page loads, and a one-line entry per library as a user imports it,
//    whose output is measured (minified, gzip -9, brotli q11).
// 2. Starts two reference servers (release build unless TABWIRE_SERVER_BIN
//    says otherwise): one serves the page and takes the workloads; the other
//    is the one the runner SIGKILLs and restarts on the same port 250 ms
//    later when the page asks (POST /restart).
// 3. Opens bench/compare.html cross-origin isolated (/isolated/) in Chromium
//    with gc() and precise memory figures, prints the page's figures, the
//    checks and the goals, and writes bench/results/compare.json.
// Exits with 1 if a check failed (a count, an order, a memory bound), not
// for a missed goal.

import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

import { build } from "vite";

import { ROOT, sleep } from "../tests/e2e/helpers.mjs";
import { benchServer, CHROMIUM, freePort, machine, printTable, run, runPage, SERVER_BIN, summary } from "./runner.mjs";

const RESULTS_FILE = path.join(ROOT, "bench", "results", "compare.json");
/** The bundles: page/ for the page, size/ for the size table. Under bench/, so the server serves them. */
const BUNDLES = path.join(ROOT, "bench", "results", "compare");
const SERVER = process.env.TABWIRE_SERVER_BIN ? SERVER_BIN : path.join(ROOT, "target", "release", "tabwire-server");
const PKG_DIR = path.resolve(ROOT, process.env.TABWIRE_PKG_DIR ?? "pkg");
/** Frames uncompressed, so that the figures are the libraries' and not zlib's; no rate limit in the way of the echoes. */
const SERVER_ARGS = [
  "--no-compression",
  "--rate", "1000000", "--burst", "1000000", "--ip-rate", "1000000", "--ip-burst", "1000000",
  "--bytes-rate", "4000000000", "--bytes-burst", "4000000000",
  "--ip-bytes-rate", "4000000000", "--ip-bytes-burst", "4000000000",
];
/** The page's whole run: about 4.5 minutes on the 2-core machine, much longer when it is busy. */
const RESULTS_TIMEOUT_MS = 840_000;
/** The servers outlive the page's run, and then exit by themselves. */
const SERVER_SECS = 900;
const RESTART_PAUSE_MS = 250;

const CONFIG = {
  reps: 3,
  throughput: [
    { name: "64 B text", count: 100_000, bytes: 64, binary: false },
    { name: "16 KiB text", count: 10_000, bytes: 16_384, binary: false },
    { name: "16 KiB binary", count: 10_000, bytes: 16_384, binary: true },
  ],
  echo: { count: 2_000, warmUp: 200 },
  drops: 10,
  restarts: 5,
  memory: { cycles: 1_000, messages: 100_000 },
  profile: [
    { name: "64 B text", count: 20_000, bytes: 64, binary: false },
    { name: "16 KiB text", count: 2_000, bytes: 16_384, binary: false },
    { name: "16 KiB binary", count: 2_000, bytes: 16_384, binary: true },
  ],
};

/** `--quick`: a tenth of the counts, to check that it all works; not figures to quote. */
if (process.argv.includes("--quick")) {
  Object.assign(CONFIG, { reps: 1, drops: 3, restarts: 2, memory: { cycles: 100, messages: 10_000 } });
  for (const workload of [...CONFIG.throughput, ...CONFIG.profile]) workload.count /= 10;
}

/** Growth allowed between the first memory reading and each later one, in MB (10^6 bytes). */
const MEMORY_BOUND_MB = { jsHeap: 1, wasm: 1 };

/** The rows of the results: set-up name → table rows. */
const ROWS = ["raw WebSocket", "reconnecting-websocket", "partysocket", "tabwire solo", "tabwire leader", "tabwire follower"];
/** The echo's extra row: tabwire solo without the durable outbox. */
const MEMORY_QUEUE = "tabwire solo, queue.storage memory";

/** Each library as a user imports it: a one-line entry, bundled and minified. */
const SIZE_ENTRIES = {
  "reconnecting-websocket": `import ReconnectingWebSocket from "reconnecting-websocket"; console.log(ReconnectingWebSocket);`,
  "partysocket (PartySocket)": `import PartySocket from "partysocket"; console.log(PartySocket);`,
  "partysocket (WebSocket, as benchmarked)": `import { WebSocket } from "partysocket"; console.log(WebSocket);`,
  centrifuge: `import { Centrifuge } from "centrifuge"; console.log(Centrifuge);`,
  "tabwire (glue + wasm)": `import init, { TabWire } from "tabwire"; console.log(init, TabWire);`,
  "tabwire/store (alone)": `import { connectionStore } from "tabwire/store"; console.log(connectionStore);`,
};

/** The builds the page loads, each with the library as its default export. */
const PAGE_ENTRIES = {
  "reconnecting-websocket": `export { default } from "reconnecting-websocket";`,
  partysocket: `export { WebSocket as default } from "partysocket";`,
};

const alias = [
  { find: /^tabwire$/, replacement: path.join(PKG_DIR, "tabwire.js") },
  { find: /^tabwire\/store$/, replacement: path.join(PKG_DIR, "store.js") },
];

/** Bundles `code` with vite, minified: as a library (`lib`, exports kept) or as an app; returns the output directory. */
async function bundle(kind, name, code, lib) {
  const slug = name.replace(/\W+/g, "-").replace(/^-|-$/g, "");
  const entry = path.join(BUNDLES, "entries", `${kind}-${slug}.js`);
  const outDir = path.join(BUNDLES, kind, lib ? "" : slug);
  mkdirSync(path.dirname(entry), { recursive: true });
  writeFileSync(entry, `${code}\n`);
  const names = { entryFileNames: lib ? `${name}.js` : "[name].js", chunkFileNames: "[name].js", assetFileNames: "[name][extname]" };
  await build({
    configFile: false,
    root: path.dirname(entry),
    logLevel: "warn",
    resolve: { alias },
    build: {
      outDir,
      emptyOutDir: !lib,
      minify: true,
      // The wasm stays a file of its own, as an app would load it.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      lib: lib ? { entry, formats: ["es"], fileName: () => `${name}.js` } : false,
      rollupOptions: { input: entry, output: names },
    },
  });
  return outDir;
}

/** Bytes of `files` together: as they are (minified), gzip -9 and brotli q11, each file compressed alone as it is served. */
function sizes(files) {
  const total = { files: files.map((file) => path.basename(file)), min: 0, gzip: 0, brotli: 0 };
  for (const file of files) {
    const bytes = readFileSync(file);
    total.min += bytes.length;
    total.gzip += zlib.gzipSync(bytes, { level: 9 }).length;
    total.brotli += zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  }
  return total;
}

async function bundles() {
  rmSync(BUNDLES, { recursive: true, force: true });
  for (const [name, code] of Object.entries(PAGE_ENTRIES)) await bundle("page", name, code, true);
  const table = {};
  for (const [name, code] of Object.entries(SIZE_ENTRIES)) {
    const dir = await bundle("size", name, code, false);
    table[name] = sizes(readdirSync(dir).sort().map((file) => path.join(dir, file)).filter((file) => statSync(file).isFile()));
  }
  // As shipped in pkg/, the glue not minified: what scripts/build.sh reports.
  table["tabwire as shipped (pkg/tabwire.js + tabwire_bg.wasm)"] = sizes(["tabwire.js", "tabwire_bg.wasm"].map((file) => path.join(PKG_DIR, file)));
  return table;
}

// ---- Figures ----------------------------------------------------------------

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const round = (value, decimals = 0) => Math.round(value * 10 ** decimals) / 10 ** decimals;
const mb = (bytes) => round(bytes / 1e6, 2);

/** Messages/s (median of the runs) and the ratio to raw of each row, per workload. */
function throughputFigures(throughput) {
  const figures = {};
  for (const [name, { count, ms }] of Object.entries(throughput)) {
    const rates = Object.fromEntries(Object.entries(ms).map(([row, runs]) => [row, runs.map((t) => count / (t / 1000))]));
    const raw = median(rates["raw WebSocket"]);
    figures[name] = Object.fromEntries(Object.entries(rates).map(([row, runs]) => [row, {
      perSecond: round(median(runs)),
      runs: runs.map((rate) => round(rate)),
      ratio: round(median(runs) / raw, 2),
    }]));
  }
  return figures;
}

function reconnectFigures(times) {
  return Object.fromEntries(Object.entries(times).map(([row, runs]) => [row, { medianMs: round(median(runs), 2), maxMs: round(Math.max(...runs), 2), runs: runs.map((t) => round(t, 2)) }]));
}

/** Memory readings in MB, the growth from the first, and whether tabwire stayed within the bound. */
function memoryFigures(memory) {
  const figures = {};
  const over = [];
  for (const [row, { before, afterReconnects, afterMessages, reconnectMs }] of Object.entries(memory)) {
    const growth = (after, key) => mb(after[key] - before[key]);
    figures[row] = {
      jsHeapMB: { before: mb(before.jsHeap), afterReconnects: mb(afterReconnects.jsHeap), afterMessages: mb(afterMessages.jsHeap) },
      wasmMB: { before: mb(before.wasm), afterReconnects: mb(afterReconnects.wasm), afterMessages: mb(afterMessages.wasm) },
      growthMB: {
        jsHeap: [growth(afterReconnects, "jsHeap"), growth(afterMessages, "jsHeap")],
        wasm: [growth(afterReconnects, "wasm"), growth(afterMessages, "wasm")],
      },
      reconnectCycleMedianMs: round(median(reconnectMs), 2),
    };
    if (row.startsWith("tabwire")) {
      for (const key of ["jsHeap", "wasm"]) {
        const worst = Math.max(...figures[row].growthMB[key]);
        if (worst > MEMORY_BOUND_MB[key]) over.push(`${row} ${key} +${worst} MB > +${MEMORY_BOUND_MB[key]} MB`);
      }
    }
  }
  return { figures, over };
}

const ms = (value) => round(value, 3);
const us = (value) => round(value, 1);

/** The figures as Markdown tables, one per workload. */
function printFigures({ modes, throughput, echo, drop, restart, memory, size, profile }) {
  const mode = (row) => (modes[row.startsWith("tabwire") ? (row === "tabwire solo" ? row : "tabwire shared") : row].protocol ? "protocol" : "raw");
  const names = Object.keys(throughput);
  console.log(`\nThroughput, server to client: messages/s, median of ${CONFIG.reps} runs (× raw WebSocket)\n`);
  printTable(["set-up", ...names], ROWS.map((row) => [row, ...names.map((name) => `${throughput[name][row].perSecond} (${throughput[name][row].ratio}×)`)]));

  console.log(`\nEcho round trip, ${CONFIG.echo.count} sequential 64 B messages, and reconnect, close to open (${CONFIG.drops} drops, ${CONFIG.restarts} restarts): ms\n`);
  printTable(
    ["set-up", "mode", "echo p50", "echo p99", "echo max", "after drop: median", "max", "after 250 ms restart: median", "max"],
    [...ROWS, MEMORY_QUEUE].map((row) => [
      row,
      row === MEMORY_QUEUE ? "protocol" : mode(row),
      ms(echo[row].p50),
      ms(echo[row].p99),
      ms(echo[row].max),
      ...[drop, restart].flatMap((figures) => (figures[row] ? [figures[row].medianMs, figures[row].maxMs] : ["", ""])),
    ]),
  );

  console.log(`\nMemory (after gc()): MB, after ${CONFIG.memory.cycles} drop-and-reopen cycles, then ${CONFIG.memory.messages} messages of 64 B\n`);
  printTable(
    ["client", "JS heap: first", "after reconnects", "after messages", "wasm memory: first", "after reconnects", "after messages", "one cycle, median ms"],
    Object.entries(memory).map(([row, { jsHeapMB: js, wasmMB: wasm, reconnectCycleMedianMs }]) => {
      const tabwireOnly = (value) => (row.startsWith("tabwire") ? value : "");
      return [row, js.before, js.afterReconnects, js.afterMessages, tabwireOnly(wasm.before), tabwireOnly(wasm.afterReconnects), tabwireOnly(wasm.afterMessages), reconnectCycleMedianMs];
    }),
  );

  console.log("\nSize, each library as imported by a one-line entry, bundled and minified by vite: bytes\n");
  const kinds = (files) => files.map((file) => (file.endsWith(".js") ? "js" : file)).join(" + ");
  printTable(["bundle", "files", "minified", "gzip -9", "brotli q11"], Object.entries(size).map(([name, { files, min, gzip, brotli }]) => [name, kinds(files), min, gzip, brotli]));

  const { echo: echoProfile, bareBroadcastChannel, ...firehoses } = profile;
  console.log("\nProfile: JS-thread time per message in the message listeners, µs (wall: from the request to the last message)\n");
  const profileRows = [];
  for (const [workload, bySetup] of Object.entries(firehoses)) {
    for (const [setup, figure] of Object.entries(bySetup)) {
      const sharing = setup === "tabwire shared";
      profileRows.push([`${workload}: ${setup}`, us(figure.wallUsPerMessage), us(figure.socketListenerUs), us(figure.beforeAppUs), us(figure.afterAppUs), sharing ? us(figure.postMessageUs) : "", sharing ? us(figure.broadcastListenerUs) : "", sharing ? round(figure.socketCalls / figure.posts, 1) : ""]);
    }
    const bare = bareBroadcastChannel[workload];
    profileRows.push([`${workload}: bare BroadcastChannel, ${round(bare.perSecond)} delivered/s`, us(1e6 / bare.perSecond), "", "", "", us(bare.postMessageUs), "", 1]);
  }
  printTable(["workload: set-up", "wall", "socket listener", "of which before the app's", "after it", "postMessage", "follower's listener", "frames per post"], profileRows);
  console.log("\nProfile: one echo round trip, µs\n");
  printTable(
    ["client", "p50", "send()", "socket listeners, without the send() in them", "frames"],
    Object.entries(echoProfile).map(([row, figure]) => [row, us(figure.p50Ms * 1000), us(figure.sendUs), us(figure.socketListenersUsPerRoundTrip), figure.socketFramesPerRoundTrip]),
  );
}

/** The goals of the issue, each with the measured figure and whether it is met. */
function goals({ throughput, echo, size }) {
  const list = [];
  const ratio = (name, row) => throughput[name][row].ratio;
  list.push(["tabwire solo ≥ 0.9× raw, 64 B text", ratio("64 B text", "tabwire solo"), ratio("64 B text", "tabwire solo") >= 0.9]);
  for (const name of ["16 KiB text", "16 KiB binary"]) list.push([`tabwire solo ≥ 0.95× raw, ${name}`, ratio(name, "tabwire solo"), ratio(name, "tabwire solo") >= 0.95]);
  const extra = round(echo["tabwire solo"].p99 - echo["raw WebSocket"].p99, 3);
  list.push(["tabwire solo echo p99 within 0.1 ms of raw", `${echo["tabwire solo"].p99} vs ${echo["raw WebSocket"].p99} ms (${extra >= 0 ? "+" : ""}${extra})`, extra <= 0.1]);
  for (const name of Object.keys(throughput)) list.push([`tabwire follower ≥ 0.5× raw, ${name}`, ratio(name, "tabwire follower"), ratio(name, "tabwire follower") >= 0.5]);
  const ours = size["tabwire (glue + wasm)"].gzip;
  const theirs = size.centrifuge.gzip;
  list.push(["tabwire gzipped (glue + wasm, as bundled) under centrifuge", `${ours} vs ${theirs} B`, ours < theirs]);
  return list;
}

// ---- Main ---------------------------------------------------------------------

async function main() {
  const begun = Date.now();
  const host = machine();
  console.log(`server ${path.relative(ROOT, SERVER)} ${SERVER_ARGS.join(" ")}; Chromium ${CHROMIUM}; machine: ${host.cpus} × ${host.cpu}, node ${host.node}`);
  console.log("bundling the libraries with vite");
  const size = await bundles();

  const main = await benchServer(SERVER_ARGS, { bin: SERVER, exitAfterSecs: SERVER_SECS });
  const port = await freePort();
  // The page is served by `main`; the victim lets it in.
  const victimArgs = [...SERVER_ARGS, "--allow-origin", main.origin];
  let victim = await benchServer(victimArgs, { port, bin: SERVER, exitAfterSecs: SERVER_SECS });
  let restarts = 0;
  const actions = {
    // SIGKILL, as a crash; the same port again RESTART_PAUSE_MS later.
    "/restart": async () => {
      await victim.kill();
      await sleep(RESTART_PAUSE_MS);
      victim = await benchServer(victimArgs, { port, bin: SERVER, exitAfterSecs: SERVER_SECS });
      restarts += 1;
      return { restarts };
    },
  };
  const ws = (origin) => `${origin.replace(/^http/, "ws")}/ws`;
  const params = { ws: ws(main.origin), victim: ws(victim.origin), run: Date.now().toString(36), config: JSON.stringify(CONFIG) };
  const chromiumArgs = ["--enable-precise-memory-info", "--js-flags=--expose-gc"];
  const body = await runPage(main.origin, "isolated/compare.html", params, RESULTS_TIMEOUT_MS, { actions, chromiumArgs });

  const { results } = body;
  const memory = memoryFigures(results.memory);
  const figures = {
    modes: results.modes,
    throughput: throughputFigures(results.throughput),
    echo: Object.fromEntries(Object.entries(results.echo).map(([row, times]) => [row, summary(times, 3)])),
    drop: reconnectFigures(results.reconnectAfterDrop),
    restart: reconnectFigures(results.reconnectAfterRestart),
    memory: memory.figures,
    size,
    profile: results.profile,
  };
  const checks = [
    ...body.checks,
    { name: `memory: tabwire grows at most +${MEMORY_BOUND_MB.jsHeap} MB JS heap and +${MEMORY_BOUND_MB.wasm} MB wasm memory`, ok: memory.over.length === 0, detail: memory.over.join("; ") },
    { name: `the runner restarted the server ${CONFIG.restarts} times per set-up`, ok: restarts === CONFIG.restarts * 5, detail: `${restarts}` },
  ];
  const goalList = goals(figures);
  const seconds = round((Date.now() - begun) / 1000);
  const output = {
    date: new Date().toISOString(),
    machine: host,
    server: `${path.relative(ROOT, SERVER)} ${SERVER_ARGS.join(" ")}`,
    userAgent: body.userAgent,
    timerResolution: body.timerResolution,
    config: CONFIG,
    memoryBoundMB: MEMORY_BOUND_MB,
    seconds,
    figures,
    goals: goalList.map(([goal, measured, met]) => ({ goal, measured, met })),
    checks,
    raw: results,
  };
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(output, null, 2)}\n`);

  console.log(`\n${body.userAgent}; timer resolution ${body.timerResolution}; modes: ${Object.entries(results.modes).map(([name, { protocol }]) => `${name} ${protocol ? "protocol" : "raw"}`).join(", ")}\n`);
  printFigures(figures);
  console.log("\nGoals (not checks: a missed goal does not fail the run)\n");
  printTable(["goal", "measured", "met"], goalList.map(([goal, measured, met]) => [goal, measured, met ? "yes" : "**no**"]));
  console.log();
  for (const { name, ok, detail } of checks) console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${detail}`}`);
  console.log(`\nwrote ${path.relative(ROOT, RESULTS_FILE)} in ${seconds} s`);
  return checks.every((entry) => entry.ok) ? 0 : 1;
}

await run(main);
