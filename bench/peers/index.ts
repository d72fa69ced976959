/**
 * peers/index — the registry of benchmarked allocators: name → module + variant.
 *
 * Modules are imported lazily (dynamic import), so a child process loads only the one peer it runs
 * and the parent can report a peer that fails to load (e.g. src/ not built) without stopping.
 * `optIn` peers run only when asked for by name or by their flag.
 */

import type { PeerModule } from "./types.js";

export interface PeerEntry {
  name: string;
  /** Module path relative to this file (compiled layout: build/bench/peers/). */
  module: string;
  variant: string;
  /** Command-line flag that adds this peer to the default set (otherwise it runs only when named). */
  optIn?: string;
}

export const PEERS: readonly PeerEntry[] = [
  { name: "hakmem", module: "./hakmem.js", variant: "default" },
  { name: "hakmem-nonshared", module: "./hakmem.js", variant: "nonshared" },
  { name: "hakmem-checked", module: "./hakmem.js", variant: "checked", optIn: "--checked" },
  { name: "reference", module: "./reference.js", variant: "" },
  { name: "gc", module: "./gc.js", variant: "" },
  { name: "thi.ng", module: "./thing.js", variant: "" },
  { name: "codemix", module: "./codemix.js", variant: "" },
  { name: "as-tlsf", module: "./as_tlsf.js", variant: "" },
  { name: "emmalloc", module: "./emscripten.js", variant: "emmalloc" },
  { name: "dlmalloc", module: "./emscripten.js", variant: "dlmalloc" },
  { name: "native-glibc", module: "./native.js", variant: "glibc" },
  { name: "native-mimalloc", module: "./native.js", variant: "mimalloc" },
  { name: "native-jemalloc", module: "./native.js", variant: "jemalloc" },
  { name: "native-tcmalloc", module: "./native.js", variant: "tcmalloc" },
];

export function peerEntry(name: string): PeerEntry {
  const entry = PEERS.find((p) => p.name === name);
  if (entry === undefined) {
    throw new Error(`unknown peer "${name}"; known: ${PEERS.map((p) => p.name).join(", ")}`);
  }
  return entry;
}

export async function importPeer(entry: PeerEntry): Promise<PeerModule> {
  const mod = (await import(entry.module)) as { peer?: PeerModule };
  if (mod.peer === undefined) throw new Error(`${entry.module} exports no peer`);
  return mod.peer;
}
