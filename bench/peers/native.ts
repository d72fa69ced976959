/**
 * native — the native rows: the single-worker workloads written in C (bench/native/ring.c, the
 * project's own: the same draws, sizes, byte write and checksum as the JS loops) run with a C
 * allocator. They say where hakmem stands against malloc in a C program on the same machine.
 *
 * Variants (one row each):
 *   native-glibc     the system's malloc (glibc)
 *   native-mimalloc  LD_PRELOAD=libmimalloc.so.2          (Debian: libmimalloc2.0)
 *   native-jemalloc  LD_PRELOAD=libjemalloc.so.2          (Debian: libjemalloc2)
 *   native-tcmalloc  LD_PRELOAD=libtcmalloc_minimal.so.4  (Debian: libtcmalloc-minimal4)
 * The libraries are looked up in the multiarch library directories (`cc -print-multiarch`); a
 * missing one skips its row with a note naming the apt command (APT_INSTALL). The program tells
 * which object its malloc came from (dladdr) and fails when that is not the preloaded library.
 *
 * Build: `prepare` compiles ring.c with `cc -O2 -pthread` into the run's temporary directory
 * (bench/results/tmp/, never committed), once per process; no `cc` on PATH skips every native row.
 *
 * Method: run.ts starts the program itself for each (peer, workload, repetition), in place of a
 * child.js process, in the same interleaved schedule: one process does the warm-up runs (the same
 * run) and then the timed run on the process's one heap, as child.ts does for the JS peers
 * (steady state; with --cold, no warm-up run: the timed run meets a fresh heap).
 * Footprint: the footprint runs only (bench/footprint.ts): the growth of the process's resident
 * set over the loops (VmHWM after − VmRSS before, /proc/self/status), each block written in full
 * so that every live byte is resident; it counts the allocator's metadata and every page it
 * touched, in 4 KiB pages, and the kernel's RSS counters are approximate (± a few hundred KiB
 * between runs): read rows of less than a few MiB with that in mind. The timed runs report none.
 * Multi-worker workloads: not run (ring.c has no larson or xthread).
 */

import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { REPO_ROOT, findExecutable } from "../lib/env.js";
import type { RunRecord } from "../lib/model.js";
import type { Params, SingleWorkload } from "../workloads/types.js";
import { PeerSkipped, type ExternalFootprint, type Peer, type PeerModule } from "./types.js";

/** The apt line that installs every preloaded allocator (also in bench/README.md). */
export const APT_INSTALL = "apt-get install -y libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4";

const SOURCE = join(REPO_ROOT, "bench", "native", "ring.c");
const BINARY = "ring-native";
const RESULT_PREFIX = "@@BENCH-NATIVE ";
/** A program that runs longer than this is killed (its pair is reported as an error). */
const TIMEOUT_MS = 10 * 60 * 1000;

type Variant = "glibc" | "mimalloc" | "jemalloc" | "tcmalloc";

/** The preloaded library of each variant and its Debian package; glibc needs none. */
const LIBRARIES: Record<Exclude<Variant, "glibc">, { file: string; pkg: string; what: string }> = {
  mimalloc: { file: "libmimalloc.so.2", pkg: "libmimalloc2.0", what: "mimalloc" },
  jemalloc: { file: "libjemalloc.so.2", pkg: "libjemalloc2", what: "jemalloc" },
  tcmalloc: { file: "libtcmalloc_minimal.so.4", pkg: "libtcmalloc-minimal4", what: "tcmalloc (gperftools, minimal)" },
};

function variantOf(v: string): Variant {
  if (v !== "glibc" && v !== "mimalloc" && v !== "jemalloc" && v !== "tcmalloc") throw new Error(`native: unknown variant ${v}`);
  return v;
}

/** Directories a Debian-style system keeps shared libraries in, multiarch ones first. */
function libraryDirs(): string[] {
  const cc = findExecutable("cc");
  let triplet = "";
  if (cc !== null) {
    try {
      triplet = execFileSync(cc, ["-print-multiarch"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      // not gcc-like: fall back on the architecture
    }
  }
  if (triplet === "") triplet = ({ x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" } as Record<string, string>)[process.arch] ?? "";
  const dirs = triplet !== "" ? [`/usr/lib/${triplet}`, `/lib/${triplet}`] : [];
  return [...dirs, "/usr/local/lib", "/usr/lib64", "/usr/lib"];
}

/** The preloaded library of `variant` (null for glibc); throws PeerSkipped when it is not installed. */
function libraryOf(variant: Variant): string | null {
  if (variant === "glibc") return null;
  const lib = LIBRARIES[variant];
  const dirs = libraryDirs();
  const found = dirs.map((d) => join(d, lib.file)).find((f) => existsSync(f));
  if (found === undefined) {
    throw new PeerSkipped(`skipped: ${lib.file} (Debian package ${lib.pkg}) not found in ${dirs.join(", ")}; install with: ${APT_INSTALL}`);
  }
  return found;
}

let built: Promise<void> | null = null;

/** Compiles ring.c into `tmpDir` (once per process). */
function build(tmpDir: string): Promise<void> {
  built ??= (async () => {
    const cc = findExecutable("cc");
    if (cc === null) {
      throw new PeerSkipped(`skipped: no C compiler (cc) on PATH to build bench/native/ring.c (apt-get install -y gcc; the allocators: ${APT_INSTALL})`);
    }
    await mkdir(tmpDir, { recursive: true });
    const args = ["-O2", "-pthread", "-o", join(tmpDir, BINARY), SOURCE, "-ldl"];
    process.stderr.write(`native: cc ${args.join(" ")}\n`);
    try {
      execFileSync(cc, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? "";
      throw new PeerSkipped(`skipped: cc failed to build bench/native/ring.c: ${stderr.split("\n").slice(-3).join(" ") || String(err)}`);
    }
  })();
  return built;
}

interface NativeRun {
  iterations: number;
  seconds: number;
  checksum: number;
  peakLiveBytes: number;
  ringBytes: number;
}

interface NativeOutput {
  malloc: string;
  runs: NativeRun[];
  rssBefore?: number;
  peakRss?: number;
}

/** Runs the program with `args` under `lib` (null: glibc); resolves with its result line. */
function runProgram(binary: string, lib: string | null, args: readonly string[]): Promise<NativeOutput> {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_EXPECT_MALLOC: lib === null ? "libc.so" : basename(lib) };
  if (lib !== null) env.LD_PRELOAD = lib;
  else delete env.LD_PRELOAD;
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env, timeout: TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
      if (err !== null || line === undefined) {
        reject(new Error(`${basename(binary)} ${args.join(" ")}${lib !== null ? ` (LD_PRELOAD=${lib})` : ""} failed: ${stderr.trim() || err?.message || "no result line"}`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as NativeOutput);
    });
  });
}

const DESCRIPTIONS: Record<Variant, string> = {
  glibc: "bench/native/ring.c (cc -O2) with the system's malloc (glibc)",
  mimalloc: "bench/native/ring.c (cc -O2) with mimalloc (LD_PRELOAD libmimalloc.so.2)",
  jemalloc: "bench/native/ring.c (cc -O2) with jemalloc (LD_PRELOAD libjemalloc.so.2)",
  tcmalloc: "bench/native/ring.c (cc -O2) with tcmalloc (LD_PRELOAD libtcmalloc_minimal.so.4)",
};

export const peer: PeerModule = {
  async prepare(v: string, tmpDir: string): Promise<void> {
    libraryOf(variantOf(v)); // a missing library skips the row before anything is built
    await build(tmpDir);
  },

  async load(v: string, tmpDir: string): Promise<Peer> {
    const variant = variantOf(v);
    const lib = libraryOf(variant);
    const binary = join(tmpDir, BINARY);
    if (!existsSync(binary)) throw new PeerSkipped(`skipped: ${binary} not built (no cc on PATH? apt-get install -y gcc)`);
    return {
      name: `native-${variant}`,
      description: DESCRIPTIONS[variant],
      reallocNative: true,
      footprint: "footprint runs: peak RSS growth over the loop, every block written in full (VmHWM after − VmRSS before)",
      shareable: false,
      noMulti: "a C program of single-worker workloads only (bench/native/ring.c has no larson or xthread)",
      external: {
        async run(w: SingleWorkload, p: Params, warmup: number, runs: number): Promise<RunRecord[]> {
          if (w.native === undefined) throw new Error(`${w.name} has no native form (bench/native/ring.c)`);
          const out = await runProgram(binary, lib, [...w.native(p), String(warmup), String(runs)]);
          return out.runs.map((r) => ({
            iterations: r.iterations,
            seconds: r.seconds,
            checksum: r.checksum,
            peakFootprintBytes: null,
            peakLiveBytes: r.peakLiveBytes > 0 ? r.peakLiveBytes : null,
          }));
        },
        async footprint(W: number, N: number, minSize: number, sizeRange: number, seeds: readonly number[]): Promise<ExternalFootprint> {
          const args = ["footprint", W, N, minSize, sizeRange, ...seeds.map((s) => s >>> 0)].map(String);
          const out = await runProgram(binary, lib, args);
          if (out.rssBefore === undefined || out.peakRss === undefined) throw new Error("native footprint: no RSS figures in the result");
          return {
            peakLiveBytes: out.runs.map((r) => r.peakLiveBytes),
            footprintBytes: out.peakRss - out.rssBefore,
            how: "peak RSS growth over the loop, every block written in full (VmHWM after − VmRSS before)",
          };
        },
      },
    };
  },
};
