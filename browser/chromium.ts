/**
 * chromium — starting the system's headless Chromium (Debian's `chromium` package) through
 * playwright-core, for the browser tests, the browser benchmark and the demo's check.
 *
 * Nothing is downloaded: playwright-core drives the browser at CHROMIUM_PATH, which `.ci/run`
 * installs with apt-get. Each launch gets a fresh profile directory, removed on close, and flags
 * that keep the browser off the network (no component updates, sync or background requests).
 */

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";
/** The command that installs it (what a skip message names). */
export const CHROMIUM_INSTALL = "apt-get install -y chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Why the browser cannot run here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `Chromium not found at ${CHROMIUM_PATH} (install it: ${CHROMIUM_INSTALL})`;
}

/** A running browser: open pages in `context`; `close()` ends it and removes its profile. */
export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile. */
export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), "hakmem-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: FLAGS });
    return {
      context,
      close: async () => {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Collects what a page reports as errors: console.error messages (also from its workers) and
 * uncaught exceptions. Call before the page loads anything.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console.error: ${msg.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}
