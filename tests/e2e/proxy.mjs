// A small HTTP proxy for the end-to-end tests of the HTTP transport: it sits
// in front of the reference server (127.0.0.1 only, `node:http` and
// `node:net` only) and plays the networks that break WebSockets, switched at
// run time:
//
// - `upgrades`: "pass" (the upgrade request is forwarded and the two sockets
//   are then piped as raw TCP), "refuse" (answered 403, as a proxy that
//   forbids WebSockets), or "kill" (let through, then both sockets destroyed
//   `killAfterMs` after the upgrade, as a proxy with a short idle or
//   connection limit);
// - `buffer`: false streams HTTP response bodies through as they come; true
//   forwards the status and headers at once but holds the body until the
//   upstream response ended (a buffering corporate proxy: a stream of
//   server-sent events then never delivers an event, long polls still work).
//
// It records what it saw: the URL (path and query) of every request and
// upgrade, and counts by kind, for the tests to assert on (e.g. that no
// token ever went in a URL, or that a reload made no WebSocket attempt).
//
//   const proxy = await startProxy({ target: "http://127.0.0.1:1234", upgrades: "refuse" });
//   proxy.wsUrl("/ws?tag=x")        // ws://127.0.0.1:<proxy port>/ws?tag=x
//   proxy.set({ upgrades: "pass" }) // at any time; open connections stay
//   proxy.counts()                  // { upgrades: {...}, http: {...} }
//   await proxy.close()

import http from "node:http";
import net from "node:net";

/** Headers that concern one hop only: never forwarded as they are. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

/** The kind of an HTTP request of the tabwire HTTP transport, by its query. */
export function kindOf(url) {
  const query = new URL(url, "http://proxy").searchParams;
  const path = new URL(url, "http://proxy").pathname;
  if (path.startsWith("/control/")) return "control";
  const op = query.get("op");
  if (op) return op; // send, poll, close
  const transport = query.get("transport");
  if (transport === "stream") return "stream";
  if (transport === "poll") return "open-poll";
  return "other";
}

function emptyCounts() {
  return {
    upgrades: { total: 0, passed: 0, refused: 0, killed: 0, failed: 0 },
    http: { total: 0, stream: 0, "open-poll": 0, poll: 0, send: 0, close: 0, control: 0, other: 0, failed: 0 },
  };
}

/**
 * Starts a proxy in front of `target` (an http://host:port origin), on a
 * free port of 127.0.0.1 unless `port` is given. Resolves to its handle.
 */
export async function startProxy({ target, port = 0, upgrades = "pass", killAfterMs = 2000, buffer = false } = {}) {
  const upstream = new URL(target);
  const settings = { upgrades, killAfterMs, buffer };
  let counts = emptyCounts();
  /** Every request and upgrade seen: `{ kind, method, url, at }`, in order. */
  let seen = [];
  /** Open sockets (client side and upstream side), destroyed by `dropAll` and `close`. */
  const sockets = new Set();
  /** Upgraded pairs, `[client, upstream]`, for `dropUpgraded`. */
  const upgraded = new Set();
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

  const track = (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    return socket;
  };

  const server = http.createServer((req, res) => {
    const kind = kindOf(req.url);
    counts.http.total += 1;
    counts.http[kind] = (counts.http[kind] ?? 0) + 1;
    seen.push({ kind, method: req.method, url: req.url, at: Date.now() });
    const buffering = settings.buffer;
    const headers = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const forward = http.request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    let answered = false;
    forward.on("response", (answer) => {
      answered = true;
      const outHeaders = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (!HOP_BY_HOP.has(name)) outHeaders[name] = value;
      }
      res.writeHead(answer.statusCode, answer.statusMessage, outHeaders);
      if (!buffering) {
        res.flushHeaders();
        answer.on("data", (chunk) => res.write(chunk));
        answer.on("end", () => res.end());
      } else {
        // The status and headers go at once; the body waits for the end.
        res.flushHeaders();
        const chunks = [];
        answer.on("data", (chunk) => chunks.push(chunk));
        answer.on("end", () => res.end(Buffer.concat(chunks)));
      }
      answer.on("error", () => res.destroy());
      answer.on("aborted", () => res.destroy());
    });
    forward.on("error", () => {
      counts.http.failed += 1;
      if (!answered && !res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("bad gateway");
      } else {
        res.destroy();
      }
    });
    // The client went away (an aborted fetch): the server is to see it too.
    res.on("close", () => {
      if (!res.writableFinished) forward.destroy();
    });
    req.pipe(forward);
  });

  server.on("connection", track);

  server.on("upgrade", (req, client, head) => {
    counts.upgrades.total += 1;
    seen.push({ kind: "upgrade", method: req.method, url: req.url, at: Date.now() });
    client.on("error", () => {});
    if (settings.upgrades === "refuse") {
      counts.upgrades.refused += 1;
      client.end("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforbidden");
      return;
    }
    const killAfter = settings.upgrades === "kill" ? settings.killAfterMs : null;
    const remote = track(net.connect({ host: upstream.hostname, port: Number(upstream.port) }));
    remote.on("error", () => {
      counts.upgrades.failed += 1;
      client.destroy();
    });
    remote.once("connect", () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let index = 0; index < req.rawHeaders.length; index += 2) {
        lines.push(`${req.rawHeaders[index]}: ${req.rawHeaders[index + 1]}`);
      }
      remote.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head?.length) remote.write(head);
      remote.pipe(client);
      client.pipe(remote);
      counts.upgrades.passed += 1;
      const pair = [client, remote];
      upgraded.add(pair);
      const forget = () => upgraded.delete(pair);
      client.once("close", () => {
        forget();
        remote.destroy();
      });
      remote.once("close", () => {
        forget();
        client.destroy();
      });
      if (killAfter !== null) {
        const timer = setTimeout(() => {
          if (client.destroyed && remote.destroyed) return;
          counts.upgrades.killed += 1;
          client.destroy();
          remote.destroy();
        }, killAfter);
        timer.unref();
        client.once("close", () => clearTimeout(timer));
      }
    });
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = server.address();
  const origin = `http://127.0.0.1:${address.port}`;

  return {
    origin,
    port: address.port,
    /** The WebSocket URL of `path` (with its query) through the proxy. */
    wsUrl: (path = "/ws") => `ws://127.0.0.1:${address.port}${path}`,
    /** Changes `upgrades`, `killAfterMs` and/or `buffer`; what is open stays open. */
    set(changes) {
      Object.assign(settings, changes);
    },
    settings: () => ({ ...settings }),
    /** Counts by kind since the start or the last `reset`. */
    counts: () => structuredClone(counts),
    /** Every request and upgrade seen since the start or the last `reset`. */
    seen: () => seen.map((entry) => ({ ...entry })),
    /** The URLs seen (path and query). */
    urls: () => seen.map((entry) => entry.url),
    reset() {
      counts = emptyCounts();
      seen = [];
    },
    /** WebSocket connections piped right now. */
    openUpgrades: () => upgraded.size,
    /** Destroys every piped WebSocket connection (both sides), as a proxy restart would. */
    dropUpgraded() {
      for (const [client, remote] of upgraded) {
        client.destroy();
        remote.destroy();
      }
      upgraded.clear();
    },
    /** Destroys every open socket, WebSocket or HTTP. */
    dropAll() {
      for (const socket of sockets) socket.destroy();
    },
    /** Stops listening and destroys every connection; bounded (3 s). */
    async close() {
      const closed = new Promise((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      agent.destroy();
      let timer;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
      clearTimeout(timer);
    },
  };
}
