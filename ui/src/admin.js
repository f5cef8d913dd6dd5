// The operator dashboard (/ui/admin): live numbers and charts from /metrics
// and /health (polled every 2 s while the tab is visible), errors by status,
// refusals, warm pools, languages, and the audit log (admin keys only).
import { ApiError, api, el, explain, getKey, request } from "./api.js";
import { barChart, lineChart } from "./admin-charts.js";
import { mountAudit } from "./admin-audit.js";
import * as prom from "./prom.js";

const POLL_MS = 2000;
const SPAN_MS = 5 * 60 * 1000;          // what the charts show
const WINDOWS = [
    { ms: 0, label: "each poll (2 s)" },
    { ms: 10000, label: "10 s" },
    { ms: 30000, label: "30 s" },
    { ms: 60000, label: "1 min" },
];
const MAX_WINDOW_MS = 60000;
const HIST = "soulbox_execution_duration_seconds";
// Verdicts other than ok (src/runner/result.h), always listed.
const ERROR_STATUSES = ["runtime_error", "compile_error", "time_limit_exceeded",
    "memory_limit_exceeded", "output_limit_exceeded", "internal_error"];
const SUCCESS = new Set(["ok", "accepted"]);

// Scrapes kept across mounts (the tab's session), so that leaving the view
// and coming back keeps the charts; gaps show where polling stopped.
const scrapes = [];

// ---- formatting ----
const int = (v) => (Number.isFinite(v) ? String(Math.round(v)) : "—");
function fmtRate(v) {
    if (!Number.isFinite(v)) return "—";
    return `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}/s`;
}
function fmtSeconds(v, axis) {
    if (!Number.isFinite(v)) return "—";
    if (v === 0) return axis ? "0" : "0 ms";
    if (v < 1) return `${+(v * 1000).toPrecision(3)} ms`;
    return `${+v.toPrecision(3)} s`;
}
function fmtCount(v, axis) {
    if (!Number.isFinite(v)) return "—";
    return axis ? String(+v.toPrecision(3)) : String(Math.round(v * 100) / 100);
}
function fmtUptime(s) {
    if (!Number.isFinite(s)) return "—";
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return `${d} d ${h} h`;
    if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
    if (m) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
    return `${s} s`;
}
const pct = (v) => (Number.isFinite(v) ? `${Math.round(v * 100)}%` : "—");

// ---- one scrape, reduced to what the dashboard draws ----
function reduce(samples, t) {
    const h = prom.histogram(samples, HIST);
    return {
        t,
        total: prom.sum(samples, "soulbox_executions_total") ?? 0,
        byStatus: prom.sumBy(samples, "soulbox_executions_total", "status"),
        rejected: prom.sumBy(samples, "soulbox_rejected_requests_total", "reason"),
        buckets: h ? h.buckets : null,
        queue: prom.sum(samples, "soulbox_queue_depth"),
        active: prom.sum(samples, "soulbox_active_sandboxes"),
        sessions: prom.sum(samples, "soulbox_sessions_live"),
        uptime: prom.sum(samples, "soulbox_uptime_seconds"),
    };
}

// The scrape to measure scrape i's window from: the newest at least
// windowMs older (the previous one for "each poll"); null across a gap.
function base(i, windowMs) {
    if (i <= 0) return null;
    const cur = scrapes[i];
    let j = i - 1;
    if (windowMs > 0) {
        while (j > 0 && scrapes[j].t > cur.t - windowMs) j--;
    }
    const span = cur.t - scrapes[j].t;
    if (span > Math.max(windowMs, POLL_MS) + 3 * POLL_MS) return null;   // polling stopped between
    if (cur.uptime !== null && scrapes[j].uptime !== null && cur.uptime < scrapes[j].uptime) return null;
    return scrapes[j];
}

function derive(i, windowMs) {
    const cur = scrapes[i], b = base(i, windowMs);
    const p = { t: cur.t, queue: cur.queue, active: cur.active, sessions: cur.sessions,
        rate: null, p50: null, p90: null, p99: null, n: 0 };
    if (!b) return p;
    const dt = (cur.t - b.t) / 1000;
    const inc = prom.increase(b.total, cur.total);
    p.rate = dt > 0 && inc !== null ? inc / dt : null;
    const d = prom.bucketDelta(b.buckets, cur.buckets);
    if (d && d[d.length - 1].count > 0) {
        p.n = d[d.length - 1].count;
        for (const q of [50, 90, 99]) {
            const v = prom.quantile(q / 100, d);
            p[`p${q}`] = Number.isFinite(v) ? v : null;
        }
    }
    return p;
}

// The increase of a by-label counter over the charts' span (or since the
// first scrape when that is shorter): {label: n}, and .ms the span measured.
function spanIncrease(key) {
    const out = {};
    Object.defineProperty(out, "ms", { value: 0, writable: true });
    if (!scrapes.length) return out;
    const cur = scrapes[scrapes.length - 1];
    let first = cur;
    for (let i = scrapes.length - 1; i >= 0 && scrapes[i].t >= cur.t - SPAN_MS; i--) {
        if (scrapes[i].uptime !== null && cur.uptime !== null && scrapes[i].uptime > cur.uptime) break;
        first = scrapes[i];
    }
    for (const [k, v] of Object.entries(cur[key])) out[k] = prom.increase(first[key][k] || 0, v);
    out.ms = cur.t - first.t;
    return out;
}

export function mount(main, params) {
    let stopped = false, timer = null, langTimer = null, unmountAudit = null, inflight = null;
    const cleanups = [];
    const windowSel = el("select", { id: "admin-window", "data-testid": "admin-window" },
        WINDOWS.map((w) => el("option", { value: String(w.ms) }, w.label)));
    windowSel.value = localStorage.getItem("soulbox.admin.window") || "10000";
    if (!WINDOWS.some((w) => String(w.ms) === windowSel.value)) windowSel.value = "10000";
    const windowMs = () => Number(windowSel.value);

    // ---- layout ----
    const pollStatus = el("span", { class: "muted", "data-testid": "admin-poll-status" }, "Loading…");
    const denied = el("section", { class: "card admin-denied", "data-testid": "admin-denied", hidden: true,
        "aria-labelledby": "admin-denied-title" });
    const stat = (testid, label, hint) => {
        const dd = el("dd", { "data-testid": testid }, "—");
        const node = el("div", { class: "stat" }, el("dt", {}, label), dd,
            hint ? el("dd", { class: "stat-hint muted" }, hint) : null);
        return { node, dd };
    };
    const S = {
        total: stat("metric-executions-total", "Executions", "since start"),
        rate: stat("metric-executions-rate", "Executions / s", "over the window"),
        p50: stat("metric-latency-p50", "Run p50", "over the window"),
        queue: stat("metric-queue", "Queued"),
        active: stat("metric-active-sandboxes", "Active sandboxes"),
        sessions: stat("metric-sessions-live", "Live sessions"),
        health: stat("metric-health", "Health"),
        uptime: stat("metric-uptime", "Uptime"),
        version: stat("metric-version", "Version"),
        cgroup: stat("metric-cgroup", "cgroup"),
        store: stat("metric-store", "Store"),
    };
    const headline = el("dl", { class: "stats", "aria-label": "Headline numbers" }, Object.values(S).map((s) => s.node));
    const metricsNote = el("p", { class: "bad", role: "status", hidden: true, "data-testid": "metrics-unavailable" });

    const charts = {
        exec: lineChart({ testid: "chart-executions", title: "Executions per second", format: (v, axis) => (axis ? fmtCount(v, true) : fmtRate(v)),
            series: [{ key: "rate", name: "all languages" }], windowMs: SPAN_MS, gapMs: 3 * POLL_MS }),
        latency: lineChart({ testid: "chart-latency", title: "Run-stage latency percentiles", format: fmtSeconds,
            series: [{ key: "p50", name: "p50" }, { key: "p90", name: "p90" }, { key: "p99", name: "p99" }],
            windowMs: SPAN_MS, gapMs: 3 * POLL_MS }),
        load: lineChart({ testid: "chart-load", title: "Queue depth and active sandboxes", format: fmtCount,
            series: [{ key: "queue", name: "queued" }, { key: "active", name: "active sandboxes" }],
            windowMs: SPAN_MS, gapMs: 3 * POLL_MS }),
        sessions: lineChart({ testid: "chart-sessions", title: "Live sessions", format: fmtCount,
            series: [{ key: "sessions", name: "live sessions" }], windowMs: SPAN_MS, gapMs: 3 * POLL_MS }),
    };
    const chartGrid = el("div", { class: "chart-grid" }, Object.values(charts).map((c) => c.node));

    const errorsBox = el("div", { class: "errors", "data-testid": "errors-by-status" });
    const rejectedBox = el("div", { class: "errors", "data-testid": "rejected-by-reason" });
    const faultsBox = el("dl", { class: "faults", "data-testid": "faults" });
    const poolBody = el("tbody");
    const poolTable = el("table", { class: "stack-table", "data-testid": "pool-table" },
        el("caption", { class: "visually-hidden" }, "Warm pools by language"),
        el("thead", {}, el("tr", {}, ["Language", "Ready / target", "Refilling", "Hits", "Misses", "Hit ratio"]
            .map((h) => el("th", { scope: "col" }, h)))), poolBody);
    const langAvail = el("ul", { class: "lang-list", "data-testid": "languages-available", "aria-labelledby": "lang-ok-title" });
    const langBad = el("ul", { class: "lang-list", "data-testid": "languages-unavailable", "aria-labelledby": "lang-bad-title" });
    const langNote = el("p", { class: "muted", role: "status", "data-testid": "languages-status" });
    const langSection = el("section", { class: "card panel", "aria-labelledby": "lang-title", "data-testid": "languages" },
        el("h2", { id: "lang-title" }, "Languages"), langNote,
        el("div", { class: "lang-cols" },
            el("div", {}, el("h3", { id: "lang-ok-title" }, "Available"), langAvail),
            el("div", {}, el("h3", { id: "lang-bad-title" }, "Unavailable"), langBad)));
    const auditSection = el("section", { class: "card panel audit", "aria-labelledby": "audit-title", "data-testid": "audit", hidden: true },
        el("h2", { id: "audit-title" }, "Audit log"));

    const section = (id, title, ...kids) => el("section", { class: "card panel", "aria-labelledby": id },
        el("h2", { id }, title), ...kids);
    const metricsPart = el("div", { class: "metrics-part" },
        headline,
        el("div", { class: "row chart-controls" },
            el("label", { for: "admin-window" }, "Rates and percentiles over"), windowSel,
            el("span", { class: "muted" }, "(the charts show the last 5 minutes)")),
        chartGrid,
        el("div", { class: "panel-grid" },
            section("errors-title", "Errors by status", errorsBox),
            section("rejected-title", "Refused requests by reason", rejectedBox),
            section("pools-title", "Warm pools", el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Warm pools" }, poolTable)),
            section("faults-title", "Faults", faultsBox)));
    const root = el("div", { class: "admin", "data-testid": "admin-dashboard" },
        el("div", { class: "admin-head" }, el("h1", {}, "Operator dashboard"), pollStatus),
        denied, metricsNote, metricsPart, langSection, auditSection);
    main.append(root);

    // ---- access: the admin-only parts ----
    function setAccess(state, err) {
        if (state === "denied") {
            if (unmountAudit) { unmountAudit(); unmountAudit = null; }
            auditSection.hidden = true;
            const noKey = !getKey();
            const why = noKey
                ? "No API key is entered."
                : err && err.status === 403
                    ? "The API key entered is not an admin key."
                    : `The API key entered was refused (${err ? err.message : "unauthenticated"}).`;
            denied.replaceChildren(
                el("h2", { id: "admin-denied-title" }, "Admin key required"),
                el("p", {}, `The audit log and the operator's views need an admin API key (a key listed in SOULBOX_ADMIN_KEYS / auth.admin_keys). ${why}`),
                el("p", { class: "muted" }, "Public metrics are still shown below when the server publishes them."),
                el("div", { class: "row" },
                    el("button", { type: "button", class: "primary", "data-testid": "admin-enter-key",
                        onclick: () => document.dispatchEvent(new CustomEvent("soulbox:need-key")) },
                    noKey ? "Enter an admin key" : "Use another key"),
                    noKey && !tried ? el("button", { type: "button", "data-testid": "admin-try-without-key",
                        onclick: startKeyed }, "Try without a key (server without API keys)") : null));
            denied.hidden = false;
        } else {                           // "ok", or "absent" (a server without the route)
            denied.hidden = true;
            auditSection.hidden = false;
        }
    }
    // Without a key nothing that needs one is asked for: each refusal would
    // write an auth_failure audit record. A server without API keys (auth
    // off) answers anyway: "Try without a key" asks.
    let tried = false;
    function startKeyed() {
        tried = true;
        unmountAudit = mountAudit(auditSection, params, setAccess);
        loadLanguages();
    }

    // ---- languages ----
    async function loadLanguages() {
        if (stopped) return;
        try {
            const r = await api("GET", "/api/languages");
            if (stopped) return;
            langSection.hidden = false;
            const ok = (r.languages || []).slice().sort((a, b) => a.name.localeCompare(b.name));
            const bad = (r.unavailable || []).slice().sort((a, b) => a.name.localeCompare(b.name));
            const probing = r.probing || [];
            langAvail.replaceChildren(...(ok.length ? ok.map((l) => el("li", { "data-language": l.name },
                el("strong", {}, l.name), " ", el("span", { class: "mono" }, l.version || "?"),
                l.compiled ? el("span", { class: "tag" }, "compiled") : null))
                : [el("li", { class: "muted" }, "None")]));
            langBad.replaceChildren(...(bad.length ? bad.map((l) => el("li", { "data-language": l.name },
                el("strong", {}, l.name), ": ", el("span", { class: "bad" }, l.reason || "unavailable")))
                : [el("li", { class: "muted" }, "None")]));
            langNote.textContent = probing.length ? `Still probing: ${probing.join(", ")}…` : "";
            langNote.hidden = !probing.length;
            if (probing.length) langTimer = setTimeout(loadLanguages, 3000);
        } catch (e) {
            if (stopped) return;
            if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
                langSection.hidden = true;   // needs a key: the denied message says which
                return;
            }
            langNote.hidden = false;
            langNote.textContent = `Could not load the languages: ${explain(e)}`;
            langTimer = setTimeout(loadLanguages, 10000);
        }
    }
    if (getKey()) startKeyed();
    else { setAccess("denied", null); langSection.hidden = true; }

    // ---- metrics ----
    function renderMetrics(samples, health) {
        const last = scrapes[scrapes.length - 1];
        const win = windowMs();
        const points = scrapes.map((_, i) => derive(i, win));
        const now = last ? last.t : Date.now();
        const cur = points[points.length - 1] || {};
        S.total.dd.textContent = last ? int(last.total) : "—";
        S.rate.dd.textContent = fmtRate(cur.rate);
        S.p50.dd.textContent = cur.p50 === null || cur.p50 === undefined ? (cur.rate === null ? "—" : "no runs") : fmtSeconds(cur.p50);
        S.queue.dd.textContent = int(cur.queue ?? (health ? health.queued : NaN));
        S.active.dd.textContent = int(cur.active ?? (health ? health.active_sandboxes : NaN));
        S.sessions.dd.textContent = int(cur.sessions ?? (health ? health.sessions : NaN));
        S.uptime.dd.textContent = fmtUptime(last && last.uptime !== null ? last.uptime : health ? health.uptime_s : NaN);
        S.health.dd.textContent = health ? health.status : "—";
        S.health.dd.className = health ? (health.status === "ok" ? "ok" : "bad") : "";
        S.version.dd.textContent = health ? health.version : "—";
        S.cgroup.dd.textContent = health ? health.cgroup : "—";
        S.store.dd.textContent = health ? health.store : "—";
        for (const c of Object.values(charts)) c.update(points, now);
        if (!samples) return;

        // errors by status: every non-success verdict, totals and the last 5 minutes
        const byStatus = last.byStatus, recent = spanIncrease("byStatus");
        const statuses = [...new Set([...ERROR_STATUSES, ...Object.keys(byStatus).filter((s) => !SUCCESS.has(s))])];
        const rows = statuses.map((s) => ({ label: s, value: byStatus[s] || 0, recent: recent[s] || 0 }));
        const okN = Object.entries(byStatus).filter(([s]) => SUCCESS.has(s)).reduce((a, [, v]) => a + v, 0);
        const errN = rows.reduce((a, r) => a + r.value, 0);
        errorsBox.replaceChildren(
            countTable("Status", rows, "error-row", recent.ms),
            rows.some((r) => r.value > 0)
                ? barChart({ testid: "chart-errors", title: "Executions by non-ok status since start",
                    rows: rows.filter((r) => r.value > 0), format: int })
                : el("p", { class: "muted" }, "No execution has ended in error since start."),
            el("p", { class: "muted" }, `${int(okN)} ok, ${int(errN)} not ok since start` +
                (okN + errN ? ` (${pct(errN / (okN + errN))} not ok).` : ".")));
        const rej = last.rejected, rrecent = spanIncrease("rejected");
        const rrows = Object.keys(rej).sort().map((k) => ({ label: k, value: rej[k], recent: rrecent[k] || 0 }));
        rejectedBox.replaceChildren(...(rrows.length
            ? [countTable("Reason", rrows, "rejected-row", rrecent.ms),
                barChart({ testid: "chart-rejected", title: "Refused requests by reason since start", rows: rrows, format: int })]
            : [el("p", { class: "muted" }, "No request refused since start.")]));

        // warm pools, one row per pool (language, network, isolation)
        const pools = new Map();
        for (const s of samples) {
            if (!s.name.startsWith("soulbox_pool_")) continue;
            const id = `${s.labels.language}|${s.labels.network || ""}|${s.labels.isolation || ""}`;
            if (!pools.has(id)) pools.set(id, { labels: s.labels });
            pools.get(id)[s.name.slice("soulbox_pool_".length)] = s.value;
        }
        poolBody.replaceChildren(...(pools.size ? [...pools.values()].map((p) => {
            const name = [p.labels.language, p.labels.isolation, p.labels.network === "true" ? "network" : null]
                .filter(Boolean).join(" · ");
            const asked = (p.hits_total || 0) + (p.misses_total || 0);
            const ratio = asked ? p.hits_total / asked : NaN;
            const full = p.target ? Math.min(1, (p.ready || 0) / p.target) : 0;
            return el("tr", { "data-testid": "pool-row", "data-language": p.labels.language },
                el("th", { scope: "row" }, name),
                el("td", { "data-label": "Ready / target" }, el("span", { class: "nowrap" }, `${int(p.ready)} / ${int(p.target)} `,
                    el("meter", { min: "0", max: "1", low: "0.5", optimum: "1", value: String(full),
                        "aria-label": `${p.labels.language} pool fill` }))),
                el("td", { "data-label": "Refilling" }, int(p.refilling)),
                el("td", { "data-label": "Hits" }, int(p.hits_total)),
                el("td", { "data-label": "Misses" }, int(p.misses_total)),
                el("td", { "data-label": "Hit ratio" }, asked ? pct(ratio) : el("span", { class: "muted" }, "no runs yet")));
        }) : [el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No warm pools are configured (sandbox.pools)."))]));

        // faults the alerts watch
        const fault = (label, name) => {
            const v = prom.sum(samples, name);
            return [el("dt", {}, label), el("dd", { class: v ? "bad" : "" }, int(v))];
        };
        const http5 = samples.filter((s) => s.name === "soulbox_http_requests_total" && /^5/.test(s.labels.code || ""))
            .reduce((a, s) => a + s.value, 0);
        faultsBox.replaceChildren(
            ...fault("Sandbox setup failures", "soulbox_sandbox_setup_failures_total"),
            ...fault("Seccomp kills", "soulbox_seccomp_kills_total"),
            ...fault("Store errors", "soulbox_store_errors_total"),
            el("dt", {}, "HTTP 5xx answers"), el("dd", { class: http5 ? "bad" : "" }, int(http5)),
            ...fault("Output pauses (backpressure)", "soulbox_output_pauses_total"));
    }

    function countTable(head, rows, testid, spanMs) {
        const recent = spanMs >= SPAN_MS - 2 * POLL_MS ? "Last 5 min" : `Last ${fmtUptime(spanMs / 1000)}`;
        return el("table", { class: "count-table" },
            el("thead", {}, el("tr", {}, el("th", { scope: "col" }, head),
                el("th", { scope: "col", class: "num" }, "Since start"),
                el("th", { scope: "col", class: "num", title: "Since this page began watching, at most 5 minutes" }, recent))),
            el("tbody", {}, rows.map((r) => el("tr", { "data-testid": testid, "data-key": r.label },
                el("th", { scope: "row" }, el("code", {}, r.label)),
                el("td", { class: `num${r.value ? " bad" : ""}` }, int(r.value)),
                el("td", { class: "num" }, int(r.recent))))));
    }

    let lastSamples = null, lastHealth = null;
    async function poll() {
        timer = null;
        if (stopped) return;
        if (document.hidden) { pollStatus.textContent = "Paused while this tab is hidden."; return; }
        const ctl = new AbortController();
        inflight = ctl;
        const t = Date.now();
        const [m, h] = await Promise.allSettled([
            request("GET", "/metrics", { signal: ctl.signal }).then((r) => r.text()),
            api("GET", "/health", { signal: ctl.signal }).catch((e) => {
                // 503 while stopping still carries the health document
                if (e instanceof ApiError && e.status === 503) return { status: "stopping" };
                throw e;
            }),
        ]);
        inflight = null;
        if (stopped) return;
        if (ctl.signal.aborted) {          // hidden meanwhile: onVisibility polls again
            if (!document.hidden && !timer) timer = setTimeout(poll, 0);
            return;
        }
        lastHealth = h.status === "fulfilled" ? h.value : null;
        let problem = null;
        if (m.status === "fulfilled") {
            const parsed = prom.parse(m.value);
            lastSamples = parsed.samples;
            scrapes.push(reduce(parsed.samples, t));
            while (scrapes.length && scrapes[0].t < t - SPAN_MS - MAX_WINDOW_MS - POLL_MS) scrapes.shift();
            metricsNote.hidden = true;
            metricsPart.hidden = false;
        } else {
            const e = m.reason;
            lastSamples = null;
            if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
                metricsNote.textContent = `The metrics are not public on this server and this key cannot read them: ${explain(e)}`;
                metricsNote.hidden = false;
                metricsPart.hidden = true;
            } else {
                problem = `Metrics unavailable: ${explain(e)}`;
            }
        }
        if (!problem && h.status === "rejected") problem = `Health unavailable: ${explain(h.reason)}`;
        renderMetrics(lastSamples, lastHealth);
        const d = new Date(t);
        pollStatus.textContent = problem || `Updated ${d.toLocaleTimeString()} · every ${POLL_MS / 1000} s`;
        pollStatus.className = problem ? "bad" : "muted";
        timer = setTimeout(poll, Math.max(200, POLL_MS - (Date.now() - t)));
    }

    function onVisibility() {
        if (document.hidden) {
            clearTimeout(timer);
            timer = null;
            if (inflight) inflight.abort();
            pollStatus.textContent = "Paused while this tab is hidden.";
            pollStatus.className = "muted";
        } else if (!timer && !inflight) {
            poll();
        }
    }
    document.addEventListener("visibilitychange", onVisibility);
    cleanups.push(() => document.removeEventListener("visibilitychange", onVisibility));
    windowSel.addEventListener("change", () => {
        localStorage.setItem("soulbox.admin.window", windowSel.value);
        renderMetrics(lastSamples, lastHealth);
    });
    if (typeof ResizeObserver === "function") {
        let raf = 0;
        const ro = new ResizeObserver(() => {
            cancelAnimationFrame(raf);
            raf = requestAnimationFrame(() => { for (const c of Object.values(charts)) c.redraw(); });
        });
        ro.observe(chartGrid);
        cleanups.push(() => { ro.disconnect(); cancelAnimationFrame(raf); });
    }
    if (scrapes.length) renderMetrics(null, null);
    poll();

    return () => {
        stopped = true;
        clearTimeout(timer);
        clearTimeout(langTimer);
        if (inflight) inflight.abort();
        if (unmountAudit) unmountAudit();
        for (const c of cleanups) c();
    };
}
