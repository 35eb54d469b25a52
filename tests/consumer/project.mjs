// Consumer projects: a copy of one of tests/consumer/*/ with the package
// installed the way an application gets it, from the tarball `npm pack`
// makes of pkg/ (build it first: bash scripts/build.sh).
//
// The copy is made under target/consumer/, inside the repository, so that
// what the package leaves to its users (react, @types/react, vite) resolves
// from the workspace's node_modules by Node's ordinary lookup up the tree;
// the package itself comes only from the tarball.

import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

import { ROOT } from "../e2e/helpers.mjs";

const run = promisify(execFile);
const PKG_DIR = path.join(ROOT, "pkg");
const WORK_DIR = path.join(ROOT, "target", "consumer");
/** Bounds every npm and build command. */
const COMMAND_MS = 120_000;

/**
 * Packs pkg/ into `destination`; resolves to npm's account of the tarball:
 * `{ filename, size, unpackedSize, files: [{ path, size }] }`.
 */
export async function pack(destination) {
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", destination], {
    cwd: PKG_DIR,
    timeout: COMMAND_MS,
  });
  const [tarball] = JSON.parse(stdout);
  return { ...tarball, filename: path.join(destination, tarball.filename) };
}

/**
 * Copies tests/consumer/<name>/ to a fresh folder and installs the packed
 * package into it, offline: the tarball has no dependencies, so npm needs
 * no registry. Resolves to `{ dir, tarball, remove() }`.
 */
export async function consumerProject(name) {
  mkdirSync(WORK_DIR, { recursive: true });
  const dir = mkdtempSync(path.join(WORK_DIR, `${name}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    cpSync(path.join(ROOT, "tests", "consumer", name), dir, { recursive: true });
    const tarball = await pack(dir);
    await run(
      "npm",
      ["install", "--offline", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error", tarball.filename],
      { cwd: dir, timeout: COMMAND_MS },
    );
    return { dir, tarball, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** Runs a command of the workspace's node_modules/.bin in `dir`; rejects with its output if it fails. */
export async function workspaceBin(dir, bin, args, env = {}) {
  try {
    return await run(path.join(ROOT, "node_modules", ".bin", bin), args, {
      cwd: dir,
      env: { ...process.env, ...env },
      timeout: COMMAND_MS,
    });
  } catch (error) {
    throw new Error(`${bin} ${args.join(" ")} failed in ${dir}:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
  }
}

/**
 * `vite build` of the project in `dir` into dir/dist/ (the served folder).
 * `development: true` bundles React's development build, whose StrictMode
 * runs effects twice.
 */
export async function viteBuild(dir, { development = false } = {}) {
  const env = development ? { NODE_ENV: "development" } : {};
  await workspaceBin(dir, "vite", ["build", "--logLevel", "warn"], env);
  return path.join(dir, "dist");
}
