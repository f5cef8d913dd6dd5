// Bundles the web UI for embedding in the binary (src/frontend/ui):
//   node build.mjs OUTDIR
// writes OUTDIR/index.html, app.js, app.css and a .gz of each (served when the
// browser accepts gzip). Everything comes from src/ and node_modules: no CDN.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const out = process.argv[2];
if (!out) {
    console.error("usage: node build.mjs OUTDIR");
    process.exit(2);
}
mkdirSync(out, { recursive: true });
const here = new URL(".", import.meta.url).pathname;
const r = await build({
    entryPoints: { app: join(here, "src/main.js"), style: join(here, "src/style.css") },
    bundle: true,
    minify: true,
    write: false,
    outdir: out,
    format: "iife",
    target: ["chrome100", "firefox100", "safari15"],
    legalComments: "none",
    logLevel: "warning",
});
const files = {};
for (const f of r.outputFiles) {
    const name = f.path.endsWith(".css") ? "app.css" : "app.js";
    files[name] = Buffer.concat([files[name] || Buffer.alloc(0), Buffer.from(f.contents)]);
}
// One version for the assets' URLs: a changed build is never served from a stale cache.
const version = createHash("sha256").update(files["app.js"]).update(files["app.css"])
    .digest("hex").slice(0, 16);
files["index.html"] = Buffer.from(readFileSync(join(here, "src/index.html"), "utf8")
    .replaceAll("{{VERSION}}", version));
for (const [name, data] of Object.entries(files)) {
    writeFileSync(join(out, name), data);
    writeFileSync(join(out, name + ".gz"), gzipSync(data, { level: 9 }));
}
writeFileSync(join(out, "version"), version);
