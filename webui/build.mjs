// Build the review UI into ../operator/mge/web/dist (package data): one bundled script, one
// stylesheet, index.html, and build-stamp.json with the hash of every input (lockfile,
// package.json, sources) so a test can tell committed assets from stale ones without Node.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";

const out = new URL("../operator/mge/web/dist/", import.meta.url).pathname;

export function inputs() {
  const files = ["package.json", "package-lock.json", "build.mjs", "tsconfig.json"];
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  return [...files, ...walk("src")];
}

export function stamp() {
  const h = createHash("sha256");
  for (const f of inputs()) {
    h.update(f + "\0");
    h.update(readFileSync(f));
    h.update("\0");
  }
  return h.digest("hex");
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
await build({
  entryPoints: ["src/main.tsx"],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  outdir: join(out, "assets"),
  entryNames: "app",
  chunkNames: "chunk-[hash]",
  splitting: true,
  legalComments: "external",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
copyFileSync("src/app.css", join(out, "assets", "app.css"));
copyFileSync("src/index.html", join(out, "index.html"));
writeFileSync(
  join(out, "build-stamp.json"),
  JSON.stringify({ inputs: inputs(), sha256: stamp() }, null, 2) + "\n",
);
console.log(`built ${out} (stamp ${stamp().slice(0, 12)})`);
