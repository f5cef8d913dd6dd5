// The dashboard's audit log: GET /api/audit (admin keys only) as a table,
// with filters (kept in the page's URL), "Older" paging by next_cursor and
// an automatic refresh of the newest page.
import { ApiError, api, el, explain } from "./api.js";

const PAGE = 50;
const LIVE_MS = 5000;
// Events SoulBox writes (src/service, src/net): suggestions, not a limit.
const EVENTS = ["execution", "limit_exceeded", "seccomp_kill", "auth_failure", "rate_limited",
    "network_refused", "session_created", "session_ended", "session_paused", "session_resumed",
    "session_command", "session_context", "function_deploy", "function_delete",
    "function_rollback", "function_alias"];
const STATUSES = ["ok", "runtime_error", "time_limit_exceeded", "memory_limit_exceeded",
    "output_limit_exceeded", "compile_error", "internal_error"];

function fmtTime(r) {
    const ms = Number.isFinite(r.ts_ms) ? r.ts_ms : Date.parse(r.time);
    if (!Number.isFinite(ms)) return { text: String(r.time ?? "—"), iso: "" };
    const d = new Date(ms);
    const p = (n, w = 2) => String(n).padStart(w, "0");
    const text = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
        `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    return { text, iso: d.toISOString() };
}

// A datetime-local value (local time) as epoch ms, or null.
function sinceMs(v) {
    if (!v) return null;
    const ms = new Date(v).getTime();
    return Number.isFinite(ms) ? ms : null;
}

// epoch ms (or ISO) from the URL as a datetime-local value.
function toLocalInput(v) {
    if (!v) return "";
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(ms)) return "";
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
}

function detailCell(r) {
    const parts = [];
    if (r.detail) parts.push(String(r.detail));
    if (r.request_id) parts.push(el("span", { class: "muted mono req" }, `${r.detail ? " · " : ""}request ${r.request_id}`));
    return parts.length ? el("span", {}, parts) : el("span", { class: "muted" }, "—");
}

// Mounts the audit panel into section. onAccess(state) is told "ok",
// "denied" (401/403, with the error) or "absent" (no such route).
export function mountAudit(section, params, onAccess) {
    const field = (id, label, input) => el("div", { class: "field" }, el("label", { for: id }, label), input);
    const eventIn = el("input", { id: "audit-event", name: "event", list: "audit-events", autocomplete: "off",
        spellcheck: "false", "data-testid": "audit-filter-event", placeholder: "any", value: params.get("event") || "" });
    const keyIn = el("input", { id: "audit-key", name: "key_id", autocomplete: "off", spellcheck: "false",
        "data-testid": "audit-filter-key", placeholder: "any", value: params.get("key_id") || "" });
    const statusIn = el("input", { id: "audit-status", name: "status", list: "audit-statuses", autocomplete: "off",
        spellcheck: "false", "data-testid": "audit-filter-status", placeholder: "any", value: params.get("status") || "" });
    const sinceIn = el("input", { id: "audit-since", name: "since", type: "datetime-local", step: "1",
        "data-testid": "audit-filter-since", value: toLocalInput(params.get("since")) });
    const live = el("input", { id: "audit-live", type: "checkbox", checked: true, "data-testid": "audit-live" });
    const apply = el("button", { type: "submit", class: "primary", "data-testid": "audit-apply" }, "Apply");
    const clear = el("button", { type: "button", "data-testid": "audit-clear" }, "Clear");
    const form = el("form", { class: "audit-filters", role: "search", "aria-label": "Filter the audit log" },
        field("audit-event", "Event", eventIn),
        el("datalist", { id: "audit-events" }, EVENTS.map((e) => el("option", { value: e }))),
        field("audit-key", "Key id", keyIn),
        field("audit-status", "Status", statusIn),
        el("datalist", { id: "audit-statuses" }, STATUSES.map((e) => el("option", { value: e }))),
        field("audit-since", "Since (local time)", sinceIn),
        el("div", { class: "row audit-buttons" }, apply, clear,
            el("label", { class: "check", for: "audit-live" }, live, " Refresh newest")));
    const tbody = el("tbody");
    const table = el("table", { class: "audit-table stack-table", "data-testid": "audit-table" },
        el("caption", { class: "visually-hidden" }, "Audit records, newest first"),
        el("thead", {}, el("tr", {}, ["Time", "Event", "Key", "Client", "Language", "Status", "Detail"]
            .map((h) => el("th", { scope: "col" }, h)))),
        tbody);
    const wrap = el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Audit records" }, table);
    const status = el("p", { class: "muted audit-status", role: "status", "data-testid": "audit-status" });
    const more = el("button", { type: "button", "data-testid": "audit-more", disabled: true }, "Older");
    section.append(form, status, wrap, el("div", { class: "row" }, more));

    let filters = readForm();
    let cursor = null, pages = 0, seq = 0, busy = false, timer = null, stopped = false;
    const ctl = new AbortController();

    function readForm() {
        return {
            event: eventIn.value.trim(), key_id: keyIn.value.trim(),
            status: statusIn.value.trim(), since: sinceMs(sinceIn.value),
        };
    }

    const asked = Number(params.get("limit"));
    const page = Number.isInteger(asked) && asked >= 1 && asked <= 500 ? asked : PAGE;

    function query(withCursor) {
        const q = new URLSearchParams({ limit: String(page) });
        for (const [k, v] of Object.entries(filters)) if (v !== null && v !== "") q.set(k, String(v));
        if (withCursor && cursor) q.set("cursor", cursor);
        return q;
    }

    function row(r) {
        const t = fmtTime(r);
        const st = r.status || "";
        const stClass = !st ? "" : st === "ok" ? "ok" : "bad";
        const dash = () => el("span", { class: "muted" }, "—");
        return el("tr", { "data-testid": "audit-row", "data-event": r.event || "", "data-seq": r.seq ?? "" },
            el("td", { class: "nowrap", "data-label": "Time" }, t.iso ? el("time", { datetime: t.iso }, t.text) : t.text),
            el("td", { "data-label": "Event" }, el("code", {}, r.event || "—")),
            el("td", { "data-label": "Key" }, r.key_id || dash()),
            el("td", { "data-label": "Client" }, r.client || dash()),
            el("td", { "data-label": "Language" }, r.language || dash()),
            el("td", { class: stClass, "data-label": "Status" }, st || dash()),
            el("td", { class: "detail", "data-label": "Detail" }, detailCell(r)));
    }

    async function load(append) {
        const my = ++seq;
        busy = true;
        more.disabled = true;
        if (!append) status.textContent = pages ? status.textContent : "Loading…";
        try {
            const r = await api("GET", `/api/audit?${query(append)}`, { signal: ctl.signal });
            if (my !== seq || stopped) return;
            const recs = Array.isArray(r && r.records) ? r.records : [];
            if (append) tbody.append(...recs.map(row));
            else tbody.replaceChildren(...recs.map(row));
            cursor = r && r.next_cursor ? String(r.next_cursor) : null;
            pages = append ? pages + 1 : 1;
            more.disabled = !cursor;
            const n = tbody.childElementCount;
            const any = Object.values(filters).some((v) => v !== null && v !== "");
            const text = n === 0
                ? (any ? "No audit records match these filters." : "The audit log is empty.")
                : `${n} record${n === 1 ? "" : "s"}${cursor ? ", more with “Older”" : ", the oldest included"}` +
                  (pages > 1 && live.checked ? ". Automatic refresh waits while older pages are shown." : ".");
            if (status.textContent !== text) status.textContent = text;   // no repeated announcement
            status.classList.remove("bad");
            onAccess("ok");
        } catch (e) {
            if (e.name === "AbortError" || my !== seq || stopped) return;
            if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
                onAccess("denied", e);
                return;
            }
            if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
                onAccess("absent", e);
                status.textContent = "This server has no audit API (GET /api/audit answered " +
                    `${e.status}); use “soulbox audit” on the host.`;
                status.classList.add("bad");
                return;
            }
            status.textContent = `Could not load the audit log: ${explain(e)}`;
            status.classList.add("bad");
            more.disabled = !cursor;
        } finally {
            if (my === seq) busy = false;
        }
    }

    function syncUrl() {
        const q = new URLSearchParams(location.search);
        for (const k of ["event", "key_id", "status", "since"]) {
            const v = filters[k];
            if (v !== null && v !== "") q.set(k, String(v));
            else q.delete(k);
        }
        const s = q.toString();
        history.replaceState(history.state, "", location.pathname + (s ? `?${s}` : ""));
    }

    form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        filters = readForm();
        syncUrl();
        cursor = null;
        pages = 0;
        load(false);
    });
    clear.addEventListener("click", () => {
        eventIn.value = keyIn.value = statusIn.value = sinceIn.value = "";
        form.requestSubmit();
    });
    more.addEventListener("click", () => load(true));

    function tick() {
        if (stopped) return;
        if (live.checked && pages <= 1 && !busy && !document.hidden) load(false);
        timer = setTimeout(tick, LIVE_MS);
    }
    load(false);
    timer = setTimeout(tick, LIVE_MS);

    return () => {
        stopped = true;
        clearTimeout(timer);
        ctl.abort();
    };
}
