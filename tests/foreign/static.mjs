// The static file server of tests/foreign/: the test pages
// (tests/foreign/pages/) at / and the built package (pkg/, or
// TABWIRE_PKG_DIR) at /pkg/, on 127.0.0.1 (a secure context, so the pages
// have Web Locks). Nothing of the reference server: this layer runs
// without it. Stops by itself after `lifetimeMs`.

import { createReadStream, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";

import { ROOT, withTimeout } from "../e2e/helpers.mjs";

const PAGES_DIR = path.join(ROOT, "tests", "foreign", "pages");
const PKG_DIR = path.resolve(ROOT, process.env.TABWIRE_PKG_DIR ?? "pkg");
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/** The file under `dir` that `relative` names, or null when it leaves `dir`. */
function inside(dir, relative) {
  const file = path.resolve(dir, `.${path.posix.normalize(`/${relative}`)}`);
  return file.startsWith(dir + path.sep) ? file : null;
}

/** Starts the server on a free port; resolves to `{ origin, stop() }`. */
export async function startStaticServer({ lifetimeMs = 240_000 } = {}) {
  const server = http.createServer((request, response) => {
    const { pathname } = new URL(request.url, "http://127.0.0.1");
    const name = decodeURIComponent(pathname);
    const file = name.startsWith("/pkg/") ? inside(PKG_DIR, name.slice(5)) : inside(PAGES_DIR, name.slice(1));
    let size;
    try {
      size = file && statSync(file).isFile() ? statSync(file).size : null;
    } catch {
      size = null;
    }
    if (size === null) {
      response.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${pathname}`);
      return;
    }
    response.writeHead(200, {
      "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "content-length": size,
      "cache-control": "no-store",
    });
    createReadStream(file).pipe(response);
  });
  await withTimeout(new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  }), 5_000, "the static server to listen");
  const lifetime = setTimeout(() => stop(), lifetimeMs).unref();
  const stop = async () => {
    clearTimeout(lifetime);
    server.closeAllConnections();
    await withTimeout(new Promise((resolve) => server.close(() => resolve())), 5_000, "the static server to close").catch(() => {});
  };
  return { origin: `http://127.0.0.1:${server.address().port}`, stop };
}
