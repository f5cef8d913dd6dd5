// The Notebook tab: Python cells run one after another in one code context
// of the session (POST .../contexts, then POST .../execute streaming NDJSON).
// Output is never inserted as HTML: text goes in as text, images as data:
// URLs of <img>, and text/html results in an <iframe sandbox=""> (no
// scripts, its own opaque origin), so a cell cannot reach this page or its key.
import { api, ApiError, el, request } from "./api.js";
import { createEditor } from "./editor.js";
import { remember, sessionPath, report } from "./sessions-common.js";

const FIRST_CELLS = [
    "import sys\nprint(sys.version)",
    "",
];

export function createNotebook(panel, sid, getSession) {
    let contextId = remember(sid, "context"), contextChecked = false, running = null, queue = Promise.resolve();
    let cellSeq = 0;
    const cells = [];
    const aborter = new AbortController();   // leaving the view stops reading (the cell runs on)
    const status = el("span", { class: "muted", role: "status", "aria-live": "polite", "data-testid": "notebook-status" },
        contextId ? "Python context" : "Python: starts with the first cell");
    const runAllBtn = el("button", { type: "button", "data-testid": "notebook-run-all" }, "Run all");
    const intBtn = el("button", { type: "button", "data-testid": "notebook-interrupt", disabled: true, title: "Interrupt the running cell (KeyboardInterrupt)" }, "Interrupt");
    const restartBtn = el("button", { type: "button", "data-testid": "notebook-restart", title: "A fresh interpreter: variables are lost" }, "Restart Python");
    const addBtn = el("button", { type: "button", "data-testid": "cell-add" }, "+ Add cell");
    const list = el("div", { class: "sx-cells", "data-testid": "cells" });
    panel.append(
        el("div", { class: "row sx-nb-bar" }, status, el("span", { class: "spacer" }), runAllBtn, intBtn, restartBtn),
        el("p", { class: "muted sx-help" }, "Shift+Enter runs a cell and moves to the next; Ctrl+Enter runs it and stays. Variables live on between cells."),
        list,
        el("div", { class: "row" }, addBtn));

    function saveCells() {
        remember(sid, "cells", cells.map((c) => c.editor.text));
    }

    async function ensureContext() {
        if (contextId && !contextChecked) {
            try {
                const r = await api("GET", sessionPath(sid, "/contexts"));
                const list = Array.isArray(r) ? r : r.contexts || [];
                if (!list.some((c) => c.id === contextId)) contextId = null;
            } catch (e) {
                if (e instanceof ApiError && e.status === 404) throw e;
            }
            contextChecked = true;
        }
        if (!contextId) {
            status.textContent = "Starting Python…";
            const c = await api("POST", sessionPath(sid, "/contexts"), { json: { language: "python" } });
            contextId = c.id;
            contextChecked = true;
            remember(sid, "context", contextId);
        }
        return contextId;
    }

    function addCell(code = "", after = null) {
        const n = ++cellSeq;
        const prompt = el("span", { class: "sx-prompt mono", "aria-hidden": "true" }, "[ ]");
        const edHost = el("div", { class: "sx-cell-editor", "data-testid": "cell-editor" });
        const runBtn = el("button", { type: "button", class: "primary", "data-testid": "cell-run", "aria-label": `Run cell ${n}` }, "▶ Run");
        const delBtn = el("button", { type: "button", "data-testid": "cell-delete", "aria-label": `Delete cell ${n}` }, "Delete");
        const state = el("span", { class: "muted sx-cell-state", "data-testid": "cell-state" });
        const output = el("div", { class: "sx-output", "data-testid": "cell-output", "aria-live": "polite", "aria-label": `Output of cell ${n}` });
        const node = el("section", { class: "sx-cell card", "data-testid": "cell", "aria-label": `Cell ${n}` },
            el("div", { class: "sx-cell-head row" }, prompt, state, el("span", { class: "spacer" }), runBtn, delBtn),
            edHost, output);
        const cell = { n, node, prompt, output, state, runBtn, editor: null };
        cell.editor = createEditor(edHost, {
            doc: code, language: "python", label: `Code of cell ${n}`,
            onRun: () => run(cell), onChange: saveCells,
        });
        // Shift+Enter: run, then go to the next cell (a new one at the end).
        edHost.addEventListener("keydown", (ev) => {
            if (ev.key === "Enter" && ev.shiftKey && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
                ev.preventDefault();
                ev.stopPropagation();
                run(cell);
                const i = cells.indexOf(cell);
                (cells[i + 1] || addCell("")).editor.focus();
            }
        }, true);
        runBtn.addEventListener("click", () => run(cell));
        delBtn.addEventListener("click", () => {
            if (cells.length === 1) { cell.editor.text = ""; cell.output.replaceChildren(); return; }
            const i = cells.indexOf(cell);
            cells.splice(i, 1);
            cell.editor.destroy();
            node.remove();
            saveCells();
            (cells[i] || cells[i - 1]).editor.focus();
        });
        const i = after ? cells.indexOf(after) + 1 : cells.length;
        cells.splice(i, 0, cell);
        if (cells[i + 1]) list.insertBefore(node, cells[i + 1].node);
        else list.append(node);
        saveCells();
        return cell;
    }

    // Runs cells one at a time, in the order asked (the server queues per
    // context too, but separate requests may arrive in any order).
    function run(cell) {
        cell.state.textContent = "queued";
        cell.prompt.textContent = "[*]";
        cell.runBtn.disabled = true;
        const p = queue.then(() => execute(cell));
        queue = p.catch(() => {});
        return p;
    }

    async function execute(cell) {
        if (!cells.includes(cell) || aborter.signal.aborted) return;
        cell.output.replaceChildren();
        cell.state.textContent = "running…";
        running = cell;
        let ended = false;
        try {
            const ctx = await ensureContext();
            status.textContent = "Python: running";
            const r = await request("POST", sessionPath(sid, "/execute"), {
                json: { code: cell.editor.text, context_id: ctx },
                headers: { Accept: "application/x-ndjson" }, signal: aborter.signal,
            });
            intBtn.disabled = false;
            const reader = r.body.getReader();
            const dec = new TextDecoder();
            let buf = "";
            for (;;) {
                const { value, done } = await reader.read();
                if (value) buf += dec.decode(value, { stream: true });
                let nl;
                while ((nl = buf.indexOf("\n")) >= 0) {
                    const line = buf.slice(0, nl).trim();
                    buf = buf.slice(nl + 1);
                    if (!line) continue;
                    let ev;
                    try { ev = JSON.parse(line); } catch { continue; }
                    if (ev.type === "end") {
                        ended = true;
                        cell.prompt.textContent = `[${ev.execution_count}]`;
                    } else {
                        render(cell.output, ev);
                    }
                }
                if (done) break;
            }
            cell.state.textContent = ended ? "" : "the connection ended early";
            status.textContent = "Python: idle";
        } catch (e) {
            if (aborter.signal.aborted) return;
            if (e instanceof ApiError && e.status === 404 && contextId) {
                // The context is gone (deleted, or a restart of the server): a new one next time.
                contextId = null;
                remember(sid, "context", null);
            }
            cell.state.textContent = "failed";
            status.textContent = "Python: idle";
            report(e);
        } finally {
            if (!ended) cell.prompt.textContent = "[ ]";
            cell.runBtn.disabled = false;
            running = null;
            intBtn.disabled = true;
        }
    }

    runAllBtn.addEventListener("click", () => { for (const c of cells) run(c); });
    intBtn.addEventListener("click", async () => {
        if (!contextId) return;
        try {
            await request("POST", sessionPath(sid, `/contexts/${contextId}/interrupt`));
        } catch (e) { report(e); }
    });
    restartBtn.addEventListener("click", async () => {
        if (!contextId) return;
        status.textContent = "Restarting Python…";
        try {
            await request("POST", sessionPath(sid, `/contexts/${contextId}/restart`));
            status.textContent = "Python restarted: its variables are gone";
            for (const c of cells) c.prompt.textContent = "[ ]";
        } catch (e) {
            report(e);
            status.textContent = "Python";
        }
    });
    addBtn.addEventListener("click", () => addCell("").editor.focus());

    const saved = remember(sid, "cells");
    for (const code of (Array.isArray(saved) && saved.length ? saved : FIRST_CELLS)) addCell(code);

    return {
        show() {},
        hide() {},
        sandboxChanged() {
            status.textContent = "Python: a fresh interpreter (variables do not survive a pause)";
        },
        destroy() {
            aborter.abort();
            for (const c of cells) c.editor.destroy();
        },
    };
}

// ---- outputs: text as text, never as HTML

function appendStream(out, kind, text) {
    const last = out.lastElementChild;
    if (last && last.dataset.stream === kind) {
        last.textContent += text;
        return;
    }
    out.append(el("pre", { class: `sx-out sx-${kind}`, "data-stream": kind, "data-testid": `cell-${kind}` }, text));
}

const B64 = /^[A-Za-z0-9+/=\s]+$/;

function htmlFrame(html) {
    const dark = document.documentElement.dataset.theme === "dark";
    // The document gets no scripts (sandbox without allow-scripts) and its own
    // CSP: nothing is fetched from the network either.
    const head = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`
        + `<style>body{margin:4px;font:13px system-ui,sans-serif;color:${dark ? "#e6e8eb" : "#1f2328"};background:${dark ? "#0f1216" : "#fff"}}`
        + `table{border-collapse:collapse}th,td{border:1px solid ${dark ? "#3d444d" : "#c4c9d0"};padding:2px 6px;text-align:right}</style>`;
    const rows = (html.match(/<tr[\s>]/gi) || []).length;
    const lines = html.split("\n").length;
    const h = Math.min(480, Math.max(48, rows ? rows * 22 + 16 : lines * 18 + 24));
    return el("iframe", {
        sandbox: "", srcdoc: head + html, class: "sx-html", title: "HTML output of the cell (no scripts)",
        referrerpolicy: "no-referrer", style: `height:${h}px`, "data-testid": "cell-html",
    });
}

export function render(out, ev) {
    switch (ev.type) {
    case "stdout": case "stderr":
        appendStream(out, ev.type, ev.text || "");
        break;
    case "result": {
        const d = ev.data || {};
        if (typeof d["image/png"] === "string" && B64.test(d["image/png"])) {
            out.append(el("img", { class: "sx-img", src: `data:image/png;base64,${d["image/png"].replace(/\s/g, "")}`,
                alt: d["text/plain"] || "Image output", "data-testid": "cell-image" }));
        } else if (typeof d["image/jpeg"] === "string" && B64.test(d["image/jpeg"])) {
            out.append(el("img", { class: "sx-img", src: `data:image/jpeg;base64,${d["image/jpeg"].replace(/\s/g, "")}`,
                alt: d["text/plain"] || "Image output", "data-testid": "cell-image" }));
        } else if (typeof d["image/svg+xml"] === "string") {
            // As an <img>, an SVG runs no scripts and loads nothing.
            out.append(el("img", { class: "sx-img", src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(d["image/svg+xml"])}`,
                alt: d["text/plain"] || "Image output", "data-testid": "cell-image" }));
        } else if (typeof d["text/html"] === "string") {
            out.append(htmlFrame(d["text/html"]));
        } else if (d["application/json"] !== undefined && d["text/plain"] === undefined) {
            out.append(el("pre", { class: "sx-out sx-result", "data-testid": "cell-result" }, JSON.stringify(d["application/json"], null, 2)));
        } else {
            const text = d["text/plain"] ?? d["text/markdown"] ?? d["text/latex"] ?? JSON.stringify(d);
            out.append(el("pre", { class: "sx-out sx-result", "data-testid": "cell-result" }, String(text)));
        }
        break;
    }
    case "error": {
        const text = ev.traceback ? ev.traceback : `${ev.name}: ${ev.value}`;
        out.append(el("pre", { class: "sx-out sx-error", "data-testid": "cell-error", role: "alert" },
            ev.traceback && !ev.traceback.includes(`${ev.name}`) ? `${text}\n${ev.name}: ${ev.value}` : text));
        break;
    }
    default:
        break;
    }
}
