// Records the sha256 of the UI sources beside the built bundle (static/build.json), so a
// test can tell a committed bundle that no longer matches its sources (see sources_hash in
// src/conveyor/ui/__init__.py: the same walk, the same hash).
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const SOURCES = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "src"];

function walk(path, out) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path)) walk(join(path, name), out);
  } else {
    out.push(path);
  }
  return out;
}

const files = SOURCES.flatMap((s) => walk(join(root, s), []))
  .map((p) => relative(root, p).split(sep).join("/"))
  .sort();
const hash = createHash("sha256");
for (const file of files) {
  hash.update(file + "\0");
  hash.update(readFileSync(join(root, file)));
  hash.update("\0");
}
const out = join(root, "..", "src", "conveyor", "ui", "static", "build.json");
writeFileSync(out, JSON.stringify({ sources_sha256: hash.digest("hex"), files: files.length }, null, 2) + "\n");
console.log(`stamped ${out}`);
