// Turns wasm-pack's output in pkg/ into the published npm package: compiles
// the framework bindings (js/: tabwire/react, tabwire/store) beside the glue
// and rewrites pkg/package.json with subpath exports, the optional React
// peer and the exact list of files. Run by scripts/build.sh right after
// wasm-pack, which writes the package.json this starts from (name, version,
// description, license and repository from Cargo.toml; files and
// sideEffects of the glue).

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = path.join(root, "pkg");
const manifestPath = path.join(pkg, "package.json");

/** Compiles js/ into pkg/; returns the files it wrote, relative to pkg/. Exits on a type error. */
function compileBindings() {
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  let output;
  try {
    output = execFileSync(process.execPath, [tsc, "-p", path.join(root, "js"), "--listEmittedFiles"], {
      encoding: "utf8",
    });
  } catch (error) {
    process.stderr.write(error.stdout ?? "");
    console.error("package: the bindings in js/ do not compile");
    process.exit(1);
  }
  return output
    .split("\n")
    .filter((line) => line.startsWith("TSFILE: "))
    .map((line) => path.relative(pkg, line.slice("TSFILE: ".length)).split(path.sep).join("/"));
}

const emitted = compileBindings();
const wasmPack = JSON.parse(readFileSync(manifestPath, "utf8"));
// Kept from wasm-pack: on import only wasm-bindgen's inline JS snippets
// (none today) run code; the glue and the bindings just define things.
const { name, version, description, license, repository, sideEffects } = wasmPack;
// A Set: running this twice over its own output changes nothing.
const files = [...new Set([...wasmPack.files, ...emitted])].sort();

const entry = (base) => ({ types: `./${base}.d.ts`, default: `./${base}.js` });
const manifest = {
  name,
  version,
  description,
  license,
  repository,
  keywords: ["websocket", "reconnect", "offline", "outbox", "realtime", "wasm", "react", "tabs", "broadcastchannel"],
  type: "module",
  main: "./tabwire.js",
  module: "./tabwire.js",
  types: "./tabwire.d.ts",
  exports: {
    ".": entry("tabwire"),
    "./react": entry("react"),
    "./store": entry("store"),
    // For bundlers and apps that fetch or preload the module themselves.
    "./tabwire_bg.wasm": "./tabwire_bg.wasm",
    "./package.json": "./package.json",
  },
  sideEffects,
  files,
  // Only tabwire/react imports React; the main entry and tabwire/store
  // never do, so neither is installed for them.
  peerDependencies: { "@types/react": ">=18", react: ">=18" },
  peerDependenciesMeta: { "@types/react": { optional: true }, react: { optional: true } },
};
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
