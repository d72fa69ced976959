/**
 * serve — `npm run demo`: serves the demo page (demo/index.html) and the built package on
 * 127.0.0.1 with the COOP/COEP headers, and prints the URL to open.
 *
 * Options: --port P (default 8080; 0 for any free port); --screenshot FILE: instead of serving
 * until stopped, load the page in headless Chromium, let it run for --seconds S (default 3),
 * save a screenshot to FILE, print the page's console errors (failing if there are any) and exit.
 */

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { chromiumMissing, collectPageErrors, launchChromium } from "../browser/chromium.js";
import { startServer, type PageServer } from "../browser/server.js";

/** The repository's root (this file runs as build/demo/serve.js). */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DEMO_PATH = "demo/index.html";

/**
 * Opens the demo from `server` in a page of `context`, lets it run `seconds`, and returns the
 * page (left open), a PNG screenshot of it, the number of map redraws, the throughput table's
 * text, and what the page reported as errors.
 */
export async function loadDemo(context: BrowserContext, server: PageServer, seconds: number): Promise<{ page: Page; png: Buffer; frames: number; rates: string; errors: string[] }> {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1100, height: 900 });
  const errors = collectPageErrors(page);
  await page.goto(server.url("coi", DEMO_PATH));
  await page.waitForTimeout(seconds * 1000);
  const frames = Number(await page.evaluate(() => document.body.dataset.frames ?? "0"));
  const rates = await page.evaluate(() =>
    Array.from(document.querySelectorAll("#rates tr"), (tr) => Array.from((tr as HTMLTableRowElement).cells, (c) => c.textContent).join(": ")).join("; "),
  );
  const png = await page.screenshot({ fullPage: true });
  return { page, png, frames, rates, errors };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: "string", default: "8080" }, screenshot: { type: "string" }, seconds: { type: "string", default: "3" } },
  });
  const server = await startServer(ROOT, Number(values.port));
  if (values.screenshot === undefined) {
    console.log(`hakmem demo: open ${server.url("coi", DEMO_PATH)} (Ctrl-C stops the server)`);
    return;
  }
  try {
    const missing = chromiumMissing();
    if (missing !== undefined) throw new Error(missing);
    const chromium = await launchChromium();
    try {
      const { png, frames, errors } = await loadDemo(chromium.context, server, Number(values.seconds));
      writeFileSync(values.screenshot, png);
      console.log(`${values.screenshot}: ${png.length} bytes; the map was drawn ${frames} times`);
      if (errors.length > 0) throw new Error(`the page reported errors:\n${errors.join("\n")}`);
    } finally {
      await chromium.close();
    }
  } finally {
    await server.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
