// The npm package as `npm pack` makes it from pkg/: exactly the files its
// entry points need, and React only behind tabwire/react. Run from the
// repository root after `bash scripts/build.sh`:
//
//   node --test tests/consumer/

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { ROOT } from "../e2e/helpers.mjs";
import { pack } from "./project.mjs";

const PKG_DIR = path.join(ROOT, "pkg");
/** npm puts these in every tarball, whatever `files` says. */
const ALWAYS = ["LICENSE", "README.md", "package.json"];

let scratch;
let tarball;
let manifest;

before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "tabwire-pack-"));
  tarball = await pack(scratch);
  manifest = JSON.parse(readFileSync(path.join(PKG_DIR, "package.json"), "utf8"));
});

after(() => rmSync(scratch, { recursive: true, force: true }));

const source = (file) => readFileSync(path.join(PKG_DIR, file), "utf8");

/** The specifiers `file` imports: its import and export statements, and `import("...")` types. */
function specifiers(file) {
  const text = source(file);
  const statements = text.matchAll(/^(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/gm);
  const typeImports = text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g);
  return [...statements, ...typeImports].map((match) => match[1]);
}

/** The package files `file` refers to: relative imports, and `new URL(..., import.meta.url)` assets. */
function references(file) {
  const found = [];
  for (const specifier of specifiers(file).filter((specifier) => specifier.startsWith("."))) {
    const target = path.posix.join(path.posix.dirname(file), specifier);
    // A declaration file's "./x.js" means the declarations beside x.js.
    found.push(file.endsWith(".d.ts") ? target.replace(/\.js$/, ".d.ts") : target);
  }
  for (const [, asset] of source(file).matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)) {
    found.push(path.posix.join(path.posix.dirname(file), asset));
  }
  return found;
}

/** Every export target, and everything they refer to, transitively. */
function reachable() {
  const targets = Object.values(manifest.exports).flatMap((target) =>
    typeof target === "string" ? [target] : Object.values(target),
  );
  const seen = new Set();
  const pending = targets.map((target) => path.posix.normalize(target));
  while (pending.length > 0) {
    const file = pending.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    if (/\.(js|ts)$/.test(file)) pending.push(...references(file));
  }
  return seen;
}

test("the tarball holds exactly the files the exports reach, and npm's own", () => {
  const packed = tarball.files.map((file) => file.path).sort();
  const needed = [...new Set([...reachable(), ...ALWAYS])].sort();
  assert.deepEqual(packed, needed);
  assert.ok(packed.includes("tabwire_bg.wasm"), "the glue's new URL('tabwire_bg.wasm', import.meta.url) is reached");
});

test("the manifest: name, version from Cargo.toml, module type, entry points, optional React", () => {
  const cargo = readFileSync(path.join(ROOT, "Cargo.toml"), "utf8");
  const version = /^\[package\][^[]*?^version = "([^"]+)"/m.exec(cargo)?.[1];
  assert.equal(manifest.name, "tabwire");
  assert.equal(manifest.version, version);
  assert.equal(manifest.type, "module");
  assert.deepEqual(Object.keys(manifest.exports).sort(), [".", "./package.json", "./react", "./store", "./tabwire_bg.wasm"]);
  assert.equal(manifest.exports["."].types, manifest.types);
  assert.equal(manifest.exports["."].default, manifest.main);
  assert.equal(manifest.dependencies, undefined, "installing the package needs nothing else");
  assert.deepEqual(manifest.peerDependenciesMeta.react, { optional: true });
  assert.ok(manifest.description && manifest.license && manifest.repository);
});

test("only tabwire/react imports React", () => {
  const bare = (file) => specifiers(file).filter((specifier) => !specifier.startsWith("."));
  const importers = [...reachable()].filter((file) => file.endsWith(".js") && bare(file).length > 0);
  assert.deepEqual(importers.sort(), ["react/hooks.js", "react/provider.js"]);
  for (const file of importers) assert.deepEqual([...new Set(bare(file))], ["react"], file);
});
