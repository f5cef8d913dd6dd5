// The Sessions view (/ui/sessions): the caller's sessions (create, open,
// delete) and, for /ui/sessions?id=ID, one session with three tabs: its
// files, a terminal and a Python notebook.
import { api, clearError, el, ApiError } from "./api.js";
import { ago, confirmDialog, dateTime, duration, remember, sessionPath, report } from "./sessions-common.js";
import { createFiles } from "./sessions-files.js";
import { createTerminal } from "./sessions-terminal.js";
import { createNotebook } from "./sessions-notebook.js";

const POLL_MS = 10000;

export function mount(main, params) {
    const id = params.get("id");
    return id ? mountSession(main, id, params.get("tab")) : mountList(main);
}

// Goes to url inside the app: the shell's router mounts the view again.
function go(url, replace = false) {
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    window.dispatchEvent(new PopStateEvent("popstate"));
}

function stateBadge(state) {
    const cls = state === "running" ? "ok" : state === "paused" ? "warn" : "muted";
    return el("span", { class: `sx-state ${cls}`, "data-testid": "session-state" }, state);
}

function endsIn(s) {
    if (s.state === "paused") return `${duration(s.timeout_s)} left (clock stopped)`;
    return `in ${duration(s.timeout_s)}`;
}

// ---------------------------------------------------------------- the list
function mountList(main) {
    let alive = true, timer = 0;
    const tplSelect = el("select", { id: "sx-template", "data-testid": "session-template" },
        el("option", { value: "" }, "loading…"));
    const tplHelp = el("p", { class: "muted sx-help", id: "sx-template-help" });
    tplSelect.setAttribute("aria-describedby", "sx-template-help");
    const timeout = el("input", {
        id: "sx-timeout", type: "number", min: "1", max: "1440", step: "1", value: "30",
        inputmode: "numeric", "data-testid": "session-timeout",
    });
    const createBtn = el("button", { type: "submit", class: "primary", "data-testid": "session-create" }, "Create session");
    const createStatus = el("span", { class: "muted", role: "status", "aria-live": "polite" });
    let templates = [];

    const form = el("form", { class: "card sx-create", "aria-labelledby": "sx-create-title" },
        el("h2", { id: "sx-create-title" }, "New session"),
        el("div", { class: "row sx-create-fields" },
            el("div", { class: "field" }, el("label", { for: "sx-template" }, "Template"), tplSelect),
            el("div", { class: "field" }, el("label", { for: "sx-timeout" }, "Timeout (minutes)"), timeout),
            el("div", { class: "sx-create-go" }, createBtn)),
        tplHelp, createStatus);

    const tbody = el("tbody");
    const count = el("span", { class: "muted", "data-testid": "session-count", "aria-live": "polite" });
    const empty = el("p", { class: "muted", hidden: true, "data-testid": "session-empty" },
        "No sessions yet. Create one above: it keeps its files, terminal and Python state until its timeout runs out.");
    const table = el("table", { class: "sx-table", "data-testid": "session-list" },
        el("caption", { class: "visually-hidden" }, "Your sessions"),
        el("thead", {}, el("tr", {},
            el("th", { scope: "col" }, "Session"), el("th", { scope: "col" }, "Template"),
            el("th", { scope: "col" }, "State"), el("th", { scope: "col" }, "Created"),
            el("th", { scope: "col" }, "Ends"), el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Actions")))),
        tbody);
    const refreshBtn = el("button", { type: "button", "data-testid": "session-refresh" }, "Refresh");

    main.append(el("div", { class: "sx-list-view" },
        el("h1", {}, "Sessions"),
        el("p", { class: "muted" }, "Long-lived sandboxes with files, a terminal and persistent Python. Each ends when its timeout runs out or you delete it."),
        form,
        el("section", { class: "sx-list", "aria-labelledby": "sx-list-title" },
            el("div", { class: "row sx-list-head" },
                el("h2", { id: "sx-list-title" }, "Your sessions"), count,
                el("span", { class: "spacer" }), refreshBtn),
            el("div", { class: "sx-table-wrap" }, table), empty)));

    function showHelp() {
        const t = templates.find((x) => x.name === tplSelect.value);
        tplHelp.textContent = t ? `${t.description} (languages: ${t.languages.join(", ")})` : "";
    }
    tplSelect.addEventListener("change", showHelp);

    async function loadTemplates() {
        try {
            templates = (await api("GET", "/api/templates")).templates || [];
        } catch (e) {
            if (alive) report(e);
            templates = [];
        }
        if (!alive) return;
        tplSelect.replaceChildren(...templates.map((t) => el("option", { value: t.name }, t.name)));
        const pick = templates.find((t) => t.name === "code-interpreter") || templates.find((t) => t.name === "python") || templates[0];
        if (pick) tplSelect.value = pick.name;
        showHelp();
    }

    function row(s) {
        const open = () => go(`/ui/sessions?id=${encodeURIComponent(s.id)}`);
        return el("tr", { "data-testid": "session-row", "data-session-id": s.id },
            el("td", { "data-label": "Session" },
                el("a", { href: `/ui/sessions?id=${encodeURIComponent(s.id)}`, class: "mono sx-id",
                    onclick: (ev) => { if (ev.button === 0 && !ev.ctrlKey && !ev.metaKey) { ev.preventDefault(); open(); } } }, s.id)),
            el("td", { "data-label": "Template" }, s.template),
            el("td", { "data-label": "State" }, stateBadge(s.state)),
            el("td", { "data-label": "Created", title: dateTime(s.created_at) }, ago(s.created_at)),
            el("td", { "data-label": "Ends", title: dateTime(s.ends_at) }, endsIn(s)),
            el("td", { class: "sx-actions" },
                el("button", { type: "button", "data-testid": "session-open", "aria-label": `Open session ${s.id}`, onclick: open }, "Open"),
                el("button", {
                    type: "button", class: "danger", "data-testid": "session-delete",
                    "aria-label": `Delete session ${s.id}`, onclick: () => remove(s.id),
                }, "Delete")));
    }

    async function refresh() {
        clearTimeout(timer);
        try {
            const r = await api("GET", "/api/sandboxes?limit=100");
            if (!alive) return;
            tbody.replaceChildren(...r.sandboxes.map(row));
            empty.hidden = r.sandboxes.length > 0;
            table.hidden = r.sandboxes.length === 0;
            count.textContent = r.total > r.sandboxes.length
                ? `(${r.sandboxes.length} of ${r.total})` : `(${r.total})`;
        } catch (e) {
            if (alive) report(e);
        }
        if (alive) timer = setTimeout(refresh, POLL_MS);
    }

    async function remove(id) {
        if (!await confirmDialog("Delete this session?",
            `Session ${id} ends now: its processes are killed and its files are gone.`)) return;
        try {
            await api("DELETE", sessionPath(id));
            remember(id, "terminal", null);
            remember(id, "context", null);
        } catch (e) {
            if (!(e instanceof ApiError && e.status === 404)) report(e);
        }
        refresh();
    }

    form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const minutes = Number(timeout.value);
        if (!Number.isFinite(minutes) || minutes <= 0) {
            report("The timeout must be a number of minutes above 0.");
            timeout.focus();
            return;
        }
        createBtn.disabled = true;
        createStatus.textContent = "Creating the sandbox…";
        try {
            const body = { timeout_s: Math.round(minutes * 60) };
            if (tplSelect.value) body.template = tplSelect.value;
            const s = await api("POST", "/api/sandboxes", { json: body });
            clearError();
            createStatus.textContent = "";
            if (alive) go(`/ui/sessions?id=${encodeURIComponent(s.id)}`);
        } catch (e) {
            createStatus.textContent = "";
            if (alive) report(e);
        } finally {
            createBtn.disabled = false;
        }
    });
    refreshBtn.addEventListener("click", refresh);

    loadTemplates();
    refresh();
    return () => { alive = false; clearTimeout(timer); };
}

// ---------------------------------------------------------------- one session
const TABS = [
    { id: "files", label: "Files", make: createFiles },
    { id: "terminal", label: "Terminal", make: createTerminal },
    { id: "notebook", label: "Notebook", make: createNotebook },
];

function mountSession(main, sid, firstTab) {
    let alive = true, timer = 0, session = null;
    const panes = {};
    const info = el("div", { class: "sx-meta muted", "aria-live": "polite" }, "Loading…");
    const pauseBtn = el("button", { type: "button", "data-testid": "session-pause" }, "Pause");
    const extendBtn = el("button", { type: "button", "data-testid": "session-extend", title: "End 30 minutes from now" }, "Extend 30 min");
    const deleteBtn = el("button", { type: "button", class: "danger", "data-testid": "session-delete" }, "Delete");
    const tablist = el("div", { role: "tablist", "aria-label": "Session tools", class: "sx-tabs" });
    const panels = el("div", { class: "sx-panels" });

    main.append(el("div", { class: "sx-session" },
        el("div", { class: "sx-session-head" },
            el("a", { href: "/ui/sessions", "data-nav": true, class: "sx-back", "data-testid": "session-back" }, "← All sessions"),
            el("h1", {}, "Session ", el("code", { class: "sx-id", "data-testid": "session-id" }, sid)),
            info,
            el("div", { class: "row sx-session-actions" }, extendBtn, pauseBtn, deleteBtn)),
        tablist, panels));

    const tabs = TABS.map((t) => {
        const tab = el("button", {
            type: "button", role: "tab", id: `sx-tab-${t.id}`, "aria-controls": `sx-panel-${t.id}`,
            "aria-selected": "false", tabindex: "-1", "data-testid": `tab-${t.id}`, class: "sx-tab",
        }, t.label);
        const panel = el("section", {
            role: "tabpanel", id: `sx-panel-${t.id}`, "aria-labelledby": `sx-tab-${t.id}`,
            tabindex: "0", hidden: true, class: `sx-panel sx-panel-${t.id}`, "data-testid": `panel-${t.id}`,
        });
        tab.addEventListener("click", () => select(t.id, true));
        tablist.append(tab);
        panels.append(panel);
        return { ...t, tab, panel };
    });

    // Arrow keys, Home and End move between the tabs (and show them).
    tablist.addEventListener("keydown", (ev) => {
        const i = tabs.findIndex((t) => t.tab === document.activeElement);
        if (i < 0) return;
        let j = -1;
        if (ev.key === "ArrowRight") j = (i + 1) % tabs.length;
        else if (ev.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
        else if (ev.key === "Home") j = 0;
        else if (ev.key === "End") j = tabs.length - 1;
        if (j < 0) return;
        ev.preventDefault();
        select(tabs[j].id, true);
        tabs[j].tab.focus();
    });

    function select(id, user) {
        const chosen = tabs.find((t) => t.id === id) || tabs[0];
        for (const t of tabs) {
            const on = t === chosen;
            t.tab.setAttribute("aria-selected", String(on));
            t.tab.tabIndex = on ? 0 : -1;
            t.panel.hidden = !on;
            if (!on && panes[t.id]) panes[t.id].hide();
        }
        if (!panes[chosen.id]) panes[chosen.id] = chosen.make(chosen.panel, sid, () => session);
        panes[chosen.id].show();
        if (user) history.replaceState(null, "", `/ui/sessions?id=${encodeURIComponent(sid)}&tab=${chosen.id}`);
    }

    function render() {
        if (!session) return;
        info.replaceChildren(
            el("span", {}, "Template ", el("strong", {}, session.template)), " · ",
            stateBadge(session.state), " · ",
            el("span", { title: dateTime(session.created_at) }, `created ${ago(session.created_at)}`), " · ",
            el("span", { title: dateTime(session.ends_at), "data-testid": "session-ends" }, `ends ${endsIn(session)}`), " · ",
            el("span", {}, `${session.limits.memory_mb} MB memory`));
        const paused = session.state === "paused";
        pauseBtn.textContent = paused ? "Resume" : "Pause";
        pauseBtn.disabled = session.state !== "running" && !paused;
    }

    async function load() {
        clearTimeout(timer);
        try {
            session = await api("GET", sessionPath(sid));
            if (!alive) return;
            render();
        } catch (e) {
            if (!alive) return;
            if (e instanceof ApiError && e.status === 404) {
                gone();
                return;
            }
            report(e);
        }
        if (alive) timer = setTimeout(load, POLL_MS);
    }

    function gone() {
        info.replaceChildren(el("span", { class: "bad", "data-testid": "session-gone" },
            "This session does not exist (any more): it ended, or it belongs to another key."));
        for (const b of [pauseBtn, extendBtn, deleteBtn]) b.disabled = true;
    }

    async function act(fn) {
        try {
            const s = await fn();
            if (s && alive) { session = s; render(); }
            return true;
        } catch (e) {
            if (alive) report(e);
            return false;
        }
    }

    pauseBtn.addEventListener("click", () => {
        const resume = session && session.state === "paused";
        pauseBtn.disabled = true;
        info.prepend(el("span", {}, resume ? "Resuming… " : "Pausing (saving files)… "));
        act(() => api("POST", sessionPath(sid, resume ? "/resume" : "/pause"))).then((ok) => {
            // The terminal and the interpreters died with the sandbox.
            if (ok && alive) for (const p of Object.values(panes)) if (p.sandboxChanged) p.sandboxChanged();
            render();
        });
    });
    extendBtn.addEventListener("click", () =>
        act(() => api("POST", sessionPath(sid, "/timeout"), { json: { timeout_s: 1800 } })));
    deleteBtn.addEventListener("click", async () => {
        if (!await confirmDialog("Delete this session?",
            `Session ${sid} ends now: its processes are killed and its files are gone.`)) return;
        try {
            await api("DELETE", sessionPath(sid));
        } catch (e) {
            if (!(e instanceof ApiError && e.status === 404)) { report(e); return; }
        }
        remember(sid, "terminal", null);
        remember(sid, "context", null);
        remember(sid, "cells", null);
        go("/ui/sessions");
    });

    select(firstTab, false);
    load();
    return () => {
        alive = false;
        clearTimeout(timer);
        for (const p of Object.values(panes)) p.destroy();
    };
}
