/**
 * server — a static HTTP server on 127.0.0.1 for the pages that run hakmem in a browser: the
 * browser tests (test/browser.test.ts), the browser benchmark (bench/browser/) and the demo
 * (demo/).
 *
 * Two paths serve the same files:
 * - `/coi/<path>` with `Cross-Origin-Opener-Policy: same-origin` and
 *   `Cross-Origin-Embedder-Policy: require-corp`: the page and its workers are cross-origin
 *   isolated (127.0.0.1 is a secure context over plain http), so SharedArrayBuffer exists;
 * - `/plain/<path>` without them: SharedArrayBuffer is undefined there, as on most sites.
 * `<path>` is a file under the repository's root, inside one of SERVED_FOLDERS: the built package
 * (dist/), the compiled pages and workers (build/), and the folders that hold HTML pages. Nothing
 * else is served: no listing, nothing outside those folders.
 */

import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, normalize, resolve, sep } from "node:path";

/** The folders (relative to the root) whose files are served. */
export const SERVED_FOLDERS = ["dist", "build", "test/browser", "bench/browser", "demo"] as const;

/** How a page is served: cross-origin isolated (SharedArrayBuffer exists) or not. */
export type Isolation = "coi" | "plain";

const ISOLATION_HEADERS: Readonly<Record<Isolation, Readonly<Record<string, string>>>> = {
  coi: { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" },
  plain: {},
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

/** A running server. */
export interface PageServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** The URL of `path` (relative to the root, e.g. "demo/index.html"), served as `isolation` says. */
  url(isolation: Isolation, path: string): string;
  close(): Promise<void>;
}

/** The file under `root` that `urlPath` names, or undefined when it is not one that is served. */
function fileOf(root: string, urlPath: string): { isolation: Isolation; file: string } | undefined {
  const m = /^\/(coi|plain)\/(.+)$/.exec(urlPath);
  if (m === null) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(m[2]!);
  } catch {
    return undefined; // a malformed escape
  }
  const rel = normalize(decoded).split(sep).join("/");
  if (!SERVED_FOLDERS.some((folder) => rel.startsWith(folder + "/"))) return undefined;
  const file = resolve(root, rel);
  if (!file.startsWith(resolve(root) + sep)) return undefined;
  return { isolation: m[1] as Isolation, file };
}

/**
 * Starts a server for the files under `root` on 127.0.0.1 (port 0: any free port). Every response
 * says `Cache-Control: no-store`, so a rebuilt file is always the one loaded.
 */
export async function startServer(root: string, port = 0): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    const target = fileOf(root, new URL(req.url ?? "/", "http://x").pathname);
    if (target === undefined || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    readFile(target.file).then(
      (body) => {
        res.writeHead(200, {
          "Content-Type": CONTENT_TYPES[extname(target.file)] ?? "application/octet-stream",
          "Cache-Control": "no-store",
          ...ISOLATION_HEADERS[target.isolation],
        });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      () => res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (isolation, path) => `${origin}/${isolation}/${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
