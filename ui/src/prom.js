// Prometheus text exposition format (0.0.4): a parser and the few queries
// the dashboard needs (sums by label, counter deltas, histogram_quantile).
// No DOM here: tests/ui/prom.test.mjs runs it under node.

// Parses the exposition text into {samples: [{name, labels, value, ts}],
// types: {family: "counter"|...}, help: {family: text}}. Unparseable lines
// are skipped (counted in .skipped) rather than failing the whole scrape.
export function parse(text) {
    const samples = [], types = {}, help = {};
    let skipped = 0;
    for (const raw of String(text).split("\n")) {
        const line = raw.replace(/\r$/, "");
        if (!line.trim()) continue;
        if (line.startsWith("#")) {
            const m = /^#\s*(HELP|TYPE)\s+([A-Za-z_:][A-Za-z0-9_:]*)(?:\s+(.*))?$/.exec(line);
            if (m && m[1] === "TYPE") types[m[2]] = (m[3] || "untyped").trim();
            else if (m) help[m[2]] = unescapeHelp(m[3] || "");
            continue;
        }
        const s = parseSample(line);
        if (s) samples.push(s);
        else skipped++;
    }
    return { samples, types, help, skipped };
}

function unescapeHelp(s) {
    return s.replace(/\\(\\|n)/g, (_, c) => (c === "n" ? "\n" : "\\"));
}

// One sample line: name[{labels}] value [timestamp]; null when malformed.
export function parseSample(line) {
    let i = 0;
    const n = line.length;
    const skipWs = () => { while (i < n && (line[i] === " " || line[i] === "\t")) i++; };
    skipWs();
    const nm = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line.slice(i));
    if (!nm) return null;
    const name = nm[0];
    i += name.length;
    const labels = {};
    skipWs();
    if (line[i] === "{") {
        i++;
        for (;;) {
            skipWs();
            if (line[i] === "}") { i++; break; }
            const ln = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(i));
            if (!ln) return null;
            i += ln[0].length;
            skipWs();
            if (line[i] !== "=") return null;
            i++;
            skipWs();
            if (line[i] !== '"') return null;
            i++;
            let v = "";
            for (;;) {
                if (i >= n) return null;                 // unterminated value
                const c = line[i++];
                if (c === '"') break;
                if (c === "\\") {
                    const e = line[i++];
                    if (e === "n") v += "\n";
                    else if (e === "\\" || e === '"') v += e;
                    else if (e === undefined) return null;
                    else v += "\\" + e;                    // unknown escape: kept as is
                } else {
                    v += c;
                }
            }
            labels[ln[0]] = v;
            skipWs();
            if (line[i] === ",") { i++; continue; }
            if (line[i] === "}") { i++; break; }
            return null;
        }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (!rest[0]) return null;
    const value = parseValue(rest[0]);
    if (value === undefined) return null;
    const ts = rest[1] !== undefined ? Number(rest[1]) : null;
    return { name, labels, value, ts: Number.isFinite(ts) ? ts : null };
}

// A sample value: a Go float, NaN, +Inf, -Inf; undefined when not a number.
export function parseValue(s) {
    switch (s) {
    case "NaN": return NaN;
    case "+Inf": case "Inf": case "+inf": case "inf": return Infinity;
    case "-Inf": case "-inf": return -Infinity;
    }
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
    return Number(s);
}

// The samples named name whose labels include every pair of match.
export function select(samples, name, match = {}) {
    return samples.filter((s) => s.name === name &&
        Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

// The sum of the matching samples' values (NaN ones skipped); null when none.
export function sum(samples, name, match) {
    const sel = select(samples, name, match);
    if (!sel.length) return null;
    return sel.reduce((a, s) => a + (Number.isNaN(s.value) ? 0 : s.value), 0);
}

// The matching samples summed by one label: {labelValue: sum}.
export function sumBy(samples, name, label, match) {
    const out = {};
    for (const s of select(samples, name, match)) {
        const k = s.labels[label] ?? "";
        out[k] = (out[k] || 0) + (Number.isNaN(s.value) ? 0 : s.value);
    }
    return out;
}

// A histogram's cumulative buckets [{le, count}] sorted by le (+Inf last),
// with its _sum and _count; null when the family has no buckets.
export function histogram(samples, name, match = {}) {
    const byLe = new Map();
    for (const s of select(samples, name + "_bucket", match)) {
        const le = parseValue(s.labels.le);
        if (le === undefined || Number.isNaN(le)) continue;
        byLe.set(le, (byLe.get(le) || 0) + s.value);
    }
    if (!byLe.size) return null;
    const buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
    return { buckets, sum: sum(samples, name + "_sum", match), count: sum(samples, name + "_count", match) };
}

// The increase of a counter from a to b; a counter that went down was reset
// (the server restarted), and its whole new value is the increase.
export function increase(a, b) {
    if (a === null || a === undefined || b === null || b === undefined) return null;
    return b >= a ? b - a : b;
}

// Bucket-wise increase between two histograms' cumulative buckets (same
// layout); null when either is missing or the layouts differ.
export function bucketDelta(older, newer) {
    if (!older || !newer || older.length !== newer.length) return null;
    if (newer.some((b, i) => b.le !== older[i].le)) return null;
    const reset = newer.some((b, i) => b.count < older[i].count);
    return newer.map((b, i) => ({ le: b.le, count: reset ? b.count : b.count - older[i].count }));
}

// Prometheus' histogram_quantile(q, buckets): buckets are cumulative and
// sorted by le with +Inf last. Linear interpolation inside the bucket the
// rank falls in (from 0 for the first bucket when its bound is positive);
// a rank in the +Inf bucket gives the highest finite bound. NaN when there
// are no observations or no +Inf bucket; ±Inf for q outside [0, 1].
export function quantile(q, buckets) {
    if (Number.isNaN(q)) return NaN;
    if (q < 0) return -Infinity;
    if (q > 1) return Infinity;
    if (!buckets || buckets.length < 2) return NaN;
    const last = buckets[buckets.length - 1];
    if (last.le !== Infinity) return NaN;
    // cumulative counts must not go down (a scrape mid-update): clamp them
    const b = [];
    let max = 0;
    for (const x of buckets) { max = Math.max(max, x.count); b.push({ le: x.le, count: max }); }
    const total = b[b.length - 1].count;
    if (!(total > 0)) return NaN;
    const rank = q * total;
    let i = b.findIndex((x) => x.count >= rank);
    if (i < 0) i = b.length - 1;
    if (i === b.length - 1) return b[b.length - 2].le;
    if (i === 0 && b[0].le <= 0) return b[0].le;
    const start = i === 0 ? 0 : b[i - 1].le;
    const below = i === 0 ? 0 : b[i - 1].count;
    const inBucket = b[i].count - below;
    if (inBucket <= 0) return b[i].le;
    return start + (b[i].le - start) * ((rank - below) / inBucket);
}
