// The largest contributors to the .wasm, so that size work goes where the
// bytes are: the biggest functions and data segments, and the sums per
// crate (per module for tabwire and the standard library). Reads the
// wasm-pack output before wasm-opt, whose "name" section still names every
// function (already demangled), and measures each function body and data
// segment as `twiggy top` does (its shallow size). Reading the few sections
// needed here takes milliseconds and no tool to install; for who calls what,
// run `twiggy paths` or `twiggy dominators` on the same file.
//
//   node scripts/size-report.mjs target/size/tabwire_bg.wasm [items]

import { readFileSync } from "node:fs";

const [file, items = "12"] = process.argv.slice(2);
const bytes = readFileSync(file);

let at = 8; // past the magic number and the version
const leb = () => {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value;
  }
};
const name = () => {
  const length = leb();
  at += length;
  return bytes.toString("utf8", at - length, at);
};

/** Body sizes by function index, segment sizes by data index, and their names. */
function readSections() {
  const functions = new Map();
  const segments = new Map();
  const names = { functions: new Map(), segments: new Map() };
  let imported = 0;
  while (at < bytes.length) {
    const id = bytes[at++];
    const end = leb() + at;
    if (id === 2) {
      for (let count = leb(); count > 0; count--) {
        name(), name();
        const kind = bytes[at++];
        if (kind === 0) imported++, leb();
        else if (kind === 1) at++, bytes[at++] & 1 ? (leb(), leb()) : leb();
        else if (kind === 2) bytes[at++] & 1 ? (leb(), leb()) : leb();
        else at += 2; // a global: its type and mutability
      }
    } else if (id === 10) {
      for (let index = 0, count = leb(); index < count; index++) {
        const start = at;
        at = leb() + at;
        functions.set(imported + index, at - start);
      }
    } else if (id === 11) {
      for (let index = 0, count = leb(); index < count; index++) {
        const start = at;
        const flags = leb();
        if (flags === 2) leb();
        if (flags !== 1) while (bytes[at++] !== 0x0b); // the offset expression
        at = leb() + at;
        segments.set(index, at - start);
      }
    } else if (id === 0 && name() === "name") {
      while (at < end) {
        const kind = bytes[at++];
        const stop = leb() + at;
        const into = kind === 1 ? names.functions : kind === 9 ? names.segments : null;
        if (into) for (let count = leb(); count > 0; count--) into.set(leb(), name());
        at = stop;
      }
    }
    at = end;
  }
  return { functions, segments, names };
}

const PRIMITIVES = new Set(["bool", "char", "str", "f32", "f64", "usize", "isize", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128"]);

/** `tabwire::web::peer_codec::decode::h1cf6…` → `tabwire::web`; `<str as core[…]::fmt::Debug>::fmt` → `core::fmt`. */
function groupOf(item) {
  if (item.startsWith("data ")) return "data (strings and tables)";
  let path = item.replace(/\[[0-9a-f]+\]/g, "").replace(/^<+&?(?:mut )?/, "");
  // `<T as Trait>`, `<[T] as Trait>`, `<(A, B) as Trait>`: the trait's crate.
  const as = path.indexOf(" as ");
  if (as > 0 && !/^[a-z_][a-z0-9_]*::/.test(path)) path = path.slice(as + 4);
  if (!path.includes("::") || path.startsWith("Closure(")) return "(wasm-bindgen shims and compiler builtins)";
  const segments = path.split(/::|[<>]/);
  // `<u64>::_fmt`, `<[u8]>::starts_with`: a primitive type's own method, from core.
  if (PRIMITIVES.has(segments[0]) || /^[[(]/.test(segments[0])) return "core";
  const depth = ["tabwire", "core", "alloc", "std"].includes(segments[0]) ? 2 : 1;
  return segments.slice(0, depth).join("::");
}

const { functions, segments, names } = readSections();
const entries = [
  ...[...functions].map(([index, size]) => [names.functions.get(index) ?? `function ${index}`, size]),
  ...[...segments].map(([index, size]) => [`data ${names.segments.get(index) ?? index}`, size]),
];
const total = entries.reduce((sum, [, size]) => sum + size, 0);
const groups = new Map();
for (const [item, size] of entries) groups.set(groupOf(item), (groups.get(groupOf(item)) ?? 0) + size);

const kb = (size) => `${(size / 1000).toFixed(1)} KB`;
const clean = (item) => item.replace(/\[[0-9a-f]+\]/g, "").replace(/::h[0-9a-f]{16}$/, "");
console.log(`size: code and data before wasm-opt: ${kb(total)}; the largest items:`);
for (const [item, size] of entries.sort((a, b) => b[1] - a[1]).slice(0, Number(items))) {
  console.log(`size: ${String(size).padStart(7)} B  ${clean(item).slice(0, 110)}`);
}
const sums = [...groups].sort((a, b) => b[1] - a[1]).slice(0, Number(items));
console.log(`size: by crate: ${sums.map(([group, size]) => `${group} ${kb(size)}`).join(", ")}`);
