/**
 * processes — running a program to completion for the tests that check programs as a user runs
 * them (examples, scripts, the packed package, the docs build): its exit code and output.
 */

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository's root (the tests run from build/test/). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** How a program ended: its exit code (-1 when killed or not started) and what it printed. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of this process without the test runner's NODE_TEST_CONTEXT: scripts under
 * build/test do nothing when they see it (the runner would otherwise run them as test files).
 */
export function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Runs `file` with `args` in `cwd` (default: the root) to its end; never rejects. */
export function runProcess(file: string, args: string[], cwd = ROOT, timeoutMs = 120_000): Promise<Finished> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: plainEnv(), timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Fails with the program's output unless it exited 0. */
export function describeFailure(r: Finished, what: string): string {
  return `${what} exited with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
