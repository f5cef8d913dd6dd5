// The dashboard's charts, drawn in SVG by hand: a time-series line chart and
// a horizontal bar chart. Colours come from CSS classes (admin.css) so both
// themes apply without redrawing; each chart is role="img" with an
// aria-label saying its latest values, and the numbers are also shown as text.
import { el } from "./api.js";

const NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}, ...children) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
    for (const c of children.flat()) {
        if (c === null || c === undefined || c === false) continue;
        e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
}

// A round upper bound for an axis: 1, 2, 5 × 10^n at or above v.
export function niceMax(v) {
    if (!(v > 0) || !Number.isFinite(v)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * 0.999999) return m * p;
    return 10 * p;
}

// A line chart of series over a fixed time window ending now.
//   const c = lineChart({testid, title, unit, format, series: [{key, name}], windowMs, gapMs})
//   c.node: the figure to place; c.update(points, now): points [{t, [key]: number|null}]
export function lineChart({ testid, title, format, series, windowMs, gapMs, height = 170 }) {
    const svg = svgEl("svg", { class: "chart-svg", role: "img", height, focusable: "false" });
    const titleId = `${testid}-title`;
    const legend = el("ul", { class: "chart-legend", "aria-label": `${title}: latest values` });
    const node = el("figure", { class: "chart", "data-testid": testid, "aria-labelledby": titleId },
        el("figcaption", { id: titleId, class: "chart-title" }, title), svg, legend);
    let last = null;

    function draw(points, now) {
        last = [points, now];
        const w = Math.max(240, Math.floor(node.clientWidth || svg.clientWidth || 560));
        const h = height;
        const pad = { l: 52, r: 10, t: 10, b: 22 };
        const iw = w - pad.l - pad.r, ih = h - pad.t - pad.b;
        let max = 0;
        for (const p of points) for (const s of series) {
            const v = p[s.key];
            if (Number.isFinite(v) && v > max) max = v;
        }
        max = niceMax(max);
        const x = (t) => pad.l + iw * (1 - (now - t) / windowMs);
        const y = (v) => pad.t + ih * (1 - v / max);
        svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
        svg.setAttribute("width", String(w));
        const kids = [];
        for (const f of [0, 0.5, 1]) {
            const yy = y(max * f);
            kids.push(svgEl("line", { class: "chart-grid", x1: pad.l, x2: w - pad.r, y1: yy, y2: yy }));
            kids.push(svgEl("text", { class: "chart-axis", x: pad.l - 6, y: yy + 4, "text-anchor": "end" },
                format(max * f, true)));
        }
        const minutes = Math.round(windowMs / 60000);
        kids.push(svgEl("text", { class: "chart-axis", x: pad.l, y: h - 5 }, `−${minutes} min`));
        kids.push(svgEl("text", { class: "chart-axis", x: w - pad.r, y: h - 5, "text-anchor": "end" }, "now"));
        const items = [];
        const summary = [];
        series.forEach((s, i) => {
            // a path broken where a value is missing or polling paused
            let d = "", prevT = null, lastV = null, peak = null, lone = [];
            let runLen = 0, runStart = null;
            for (const p of points) {
                if (p.t < now - windowMs) { prevT = null; continue; }
                const v = p[s.key];
                if (!Number.isFinite(v)) { prevT = null; if (runLen === 1) lone.push(runStart); runLen = 0; continue; }
                const gap = prevT === null || p.t - prevT > gapMs;
                if (gap && runLen === 1) lone.push(runStart);
                if (gap) runLen = 0;
                d += `${gap ? "M" : "L"}${x(p.t).toFixed(1)},${y(v).toFixed(1)}`;
                if (runLen === 0) runStart = [x(p.t), y(v)];
                runLen++;
                prevT = p.t;
                lastV = v;
                peak = peak === null ? v : Math.max(peak, v);
            }
            if (runLen === 1) lone.push(runStart);
            const cls = `series series-${i}`;
            if (d) kids.push(svgEl("path", { class: cls, d, fill: "none" }));
            for (const [cx, cy] of lone) kids.push(svgEl("circle", { class: `${cls} dot`, cx, cy, r: 2.5 }));
            const text = lastV === null ? "—" : format(lastV);
            items.push(el("li", {},
                el("span", { class: `swatch swatch-${i}`, "aria-hidden": "true" }),
                `${s.name}: `, el("strong", { "data-testid": `${testid}-${s.key}` }, text),
                peak !== null && series.length === 1 ? el("span", { class: "muted" }, ` (peak ${format(peak)})`) : null));
            summary.push(`${s.name} ${text}`);
        });
        svg.replaceChildren(...kids);
        svg.setAttribute("aria-label", `${title}, last ${minutes} minutes. Latest: ${summary.join(", ")}.`);
        legend.replaceChildren(...items);
    }

    return {
        node,
        update: draw,
        redraw() { if (last) draw(...last); },
    };
}

// Horizontal bars: rows [{label, value}] (all shown, zeros included).
export function barChart({ testid, title, rows, format = String, empty = "None" }) {
    const w = 360, rowH = 22, labelW = 170;
    const max = niceMax(Math.max(0, ...rows.map((r) => r.value)));
    const nonzero = rows.filter((r) => r.value > 0);
    const label = nonzero.length
        ? `${title}: ${nonzero.map((r) => `${r.label} ${format(r.value)}`).join(", ")}.`
        : `${title}: ${empty.toLowerCase()}.`;
    const h = Math.max(1, rows.length) * rowH + 4;
    const svg = svgEl("svg", { class: "bars-svg", role: "img", "aria-label": label,
        viewBox: `0 0 ${w} ${h}`, "data-testid": testid, focusable: "false" });
    rows.forEach((r, i) => {
        const y = 2 + i * rowH;
        const bw = ((w - labelW - 50) * r.value) / max;
        svg.append(
            svgEl("text", { class: "chart-axis", x: labelW - 6, y: y + 15, "text-anchor": "end" }, r.label),
            svgEl("rect", { class: "bar", x: labelW, y: y + 3, width: Math.max(r.value > 0 ? 2 : 0, bw), height: rowH - 8, rx: 2 }),
            svgEl("text", { class: "chart-value", x: labelW + bw + 5, y: y + 15 }, format(r.value)));
    });
    return svg;
}
