// The foreign WebSocket servers of tests/foreign/: servers tabwire did not
// write, each on 127.0.0.1 only, each recording what it received so that
// the tests can assert on the server's side.
//
//   nodeWs()                         Node's `ws` with no options: echoes every message with its type
//   nodeWs({ handleProtocols })      the same with a protocol hook (`() => false`: selects none)
//   nodeWs({ silent: true })         accepts and never sends anything
//   pythonWebsockets()               Python's `websockets` (tests/foreign/echo_server.py), an echo
//
// Each returns a `ForeignServer`: `start(port)` and `stop()` (abrupt: the
// sockets are dropped without a close frame, as a crash or a deploy would),
// as often as a test likes, on the same port; the record survives restarts.
// Every server stops by itself after `lifetimeMs` whatever the test does.
//
// The record: `connections`, in the order they opened, each
// `{ id, path, offered, selected, frames }`: `path` without its query,
// `offered` the client's Sec-WebSocket-Protocol header (null when none),
// `selected` the subprotocol the server chose ("" when none), `frames` what
// arrived, a text frame as its text and a binary one as `binary:<hex>`.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";

import { WebSocketServer } from "ws";

import { ROOT, sleep, withTimeout } from "../e2e/helpers.mjs";

/** Where scripts/setup.sh installs Python's websockets. */
const PYTHON_PACKAGES = path.join(ROOT, "target", "python");
const ECHO_SCRIPT = path.join(ROOT, "tests", "foreign", "echo_server.py");
const PYTHON = process.env.TABWIRE_PYTHON ?? "python3";
/** Default lifetime of a server: longer than any test file runs. */
const LIFETIME_MS = 240_000;
/** How long a (re)start may retry while the port is still held. */
const START_MS = 10_000;

/** A binary frame as the record shows it. */
export const describeBinary = (bytes) => `binary:${Buffer.from(bytes).toString("hex")}`;

/** What every kind of server shares: the record and the start/stop life. */
class ForeignServer {
  constructor(kind) {
    this.kind = kind;
    this.port = undefined;
    this.connections = [];
    this.running = false;
  }

  /** Connections whose path (without query) is `path`. */
  connectionsOf(path) {
    return this.connections.filter((connection) => connection.path === path);
  }

  /** Every frame received on `path`, in arrival order, across connections. */
  framesOf(path) {
    return this.connectionsOf(path).flatMap((connection) => connection.frames);
  }

  /** Starts on `port` (the last one when omitted), retrying while the port is still held. */
  async start(port = this.port) {
    this.port = port;
    const deadline = Date.now() + START_MS;
    for (;;) {
      try {
        await this.listen(port);
        this.running = true;
        return this;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`${this.kind} on port ${port}: ${error.message}`);
        await sleep(100);
      }
    }
  }

  newConnection(path, offered, selected) {
    const connection = { id: this.connections.length + 1, path: path.split("?")[0], offered: offered ?? null, selected, frames: [] };
    this.connections.push(connection);
    return connection;
  }
}

/** Node's `ws`, created with no options but the address (and the protocol hook when given). */
class NodeWsServer extends ForeignServer {
  constructor({ handleProtocols, silent = false, lifetimeMs = LIFETIME_MS } = {}) {
    super(silent ? "silent ws" : handleProtocols ? "ws (handleProtocols)" : "ws");
    this.handleProtocols = handleProtocols;
    this.silent = silent;
    this.lifetimeMs = lifetimeMs;
    this.wss = undefined;
  }

  listen(port) {
    return withTimeout(new Promise((resolve, reject) => {
      const options = { host: "127.0.0.1", port };
      if (this.handleProtocols) options.handleProtocols = this.handleProtocols;
      const wss = new WebSocketServer(options);
      wss.once("error", reject);
      wss.once("listening", () => {
        wss.off("error", reject);
        wss.on("error", (error) => console.log(`${this.kind}: ${error.message}`));
        this.wss = wss;
        this.lifetime = setTimeout(() => this.stop(), this.lifetimeMs).unref();
        resolve();
      });
      wss.on("connection", (socket, request) => {
        const connection = this.newConnection(request.url, request.headers["sec-websocket-protocol"], socket.protocol);
        socket.on("error", () => {});
        socket.on("message", (data, isBinary) => {
          connection.frames.push(isBinary ? describeBinary(data) : data.toString("utf8"));
          if (!this.silent) socket.send(data, { binary: isBinary });
        });
      });
    }), 5_000, `${this.kind} to listen on ${port}`);
  }

  /** Drops every socket (no close frame) and closes the port. */
  async stop() {
    const wss = this.wss;
    if (!wss) return;
    this.wss = undefined;
    this.running = false;
    clearTimeout(this.lifetime);
    for (const socket of wss.clients) socket.terminate();
    await withTimeout(new Promise((resolve) => wss.close(() => resolve())), 5_000, `${this.kind} to close`).catch(() => {});
  }
}

/** Python's `websockets` in a child process that reports on stdout, one JSON object a line. */
class PythonWebsocketsServer extends ForeignServer {
  constructor({ lifetimeMs = LIFETIME_MS } = {}) {
    super("python websockets");
    this.lifetimeMs = lifetimeMs;
    this.child = undefined;
  }

  async listen(port) {
    if (!existsSync(path.join(PYTHON_PACKAGES, "websockets"))) {
      throw new Error(`Python's websockets is not in ${PYTHON_PACKAGES}: run scripts/setup.sh`);
    }
    const args = [ECHO_SCRIPT, "--port", String(port), "--exit-after", String(Math.ceil(this.lifetimeMs / 1000))];
    const env = { ...process.env, PYTHONPATH: PYTHON_PACKAGES, PYTHONUNBUFFERED: "1" };
    // stdin stays open: the script exits when it closes, i.e. when this process is gone.
    const child = spawn(PYTHON, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const stderr = [];
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => stderr.push(chunk));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    /** Python's connection number -> our record, for this process. */
    const byNumber = new Map();
    const listening = new Promise((resolve, reject) => {
      child.once("error", reject);
      exited.then((code) => reject(new Error(`echo_server.py exited (${code}) before listening: ${stderr.join("")}`)));
      createInterface({ input: child.stdout }).on("line", (line) => {
        const report = JSON.parse(line);
        if (report.event === "listening") resolve();
        else if (report.event === "open") byNumber.set(report.conn, this.newConnection(report.path, report.offered, report.selected ?? ""));
        else if (report.event === "frame") {
          byNumber.get(report.conn).frames.push("text" in report ? report.text : `binary:${report.binary}`);
        }
      });
    });
    this.child = child;
    this.exited = exited;
    try {
      await withTimeout(listening, START_MS, "echo_server.py to listen");
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Kills the process (no close frames). */
  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    this.running = false;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await withTimeout(this.exited, 5_000, "echo_server.py to exit").catch(() => {});
  }
}

export const nodeWs = (options) => new NodeWsServer(options);
export const pythonWebsockets = (options) => new PythonWebsocketsServer(options);
