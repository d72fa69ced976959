/**
 * env — where the numbers came from: repository root, commit (with "-dirty" when the tree differs
 * from it, untracked files included, bench/results/ excluded), Node/V8 versions, CPU model and
 * core count, and a digest of the compiled code the children load (build/src, build/bench), taken
 * before and after a run so that a rebuild in the middle of it is caught. Lesson 1 of DESIGN.md §3:
 * a benchmark prints the build it measured. Also where the system's tools are (`findExecutable`).
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants, readFileSync, readdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: this file is build/bench/lib/env.js once compiled. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
/** The compiled tree the benchmark runs from (build/). */
const BUILD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const RESULTS_DIR = resolve(REPO_ROOT, "bench", "results");
export const TMP_DIR = resolve(RESULTS_DIR, "tmp");

function git(args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

/** Short commit hash, "-dirty" when anything outside bench/results/ differs from it. */
export function commitId(): string {
  const head = git(["rev-parse", "--short", "HEAD"]);
  if (head === null) return "unknown (not a git checkout)";
  const status = git(["status", "--porcelain", "--untracked-files=normal", "--", ".", ":(exclude)bench/results"]);
  return status === null || status === "" ? head : `${head}-dirty`;
}

export interface Machine {
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  platform: string;
  /** 1-minute load average when the run started: above ~0.5 on 2 cores, something else competes. */
  load: number;
}

export function machine(): Machine {
  const list = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: list.length > 0 ? list[0].model.trim() : "unknown",
    cores: list.length,
    platform: `${process.platform} ${process.arch}`,
    load: Math.round(loadavg()[0] * 100) / 100,
  };
}

/**
 * SHA-1 (12 hex digits) over the paths and contents of the .js files under build/bench, and
 * build/src when `withSrc` (a run without a hakmem peer does not load src/).
 */
export function buildDigest(withSrc: boolean): string {
  const hash = createHash("sha1");
  for (const sub of withSrc ? ["src", "bench"] : ["bench"]) {
    let files: string[];
    try {
      files = readdirSync(resolve(BUILD_DIR, sub), { recursive: true, encoding: "utf8" });
    } catch {
      continue; // e.g. no build/src
    }
    for (const f of files.filter((x) => x.endsWith(".js")).sort()) {
      hash.update(`${sub}/${f}\0`);
      hash.update(readFileSync(resolve(BUILD_DIR, sub, f)));
    }
  }
  return hash.digest("hex").slice(0, 12);
}

/** The path of executable `name` on PATH (as a shell would find it), or null. */
export function findExecutable(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
