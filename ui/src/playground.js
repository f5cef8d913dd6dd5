// The playground (/): pick a language, write code (one file or several), give
// stdin, arguments and limits, Run with the output streamed over the
// WebSocket API, type into a running program, Stop it, judge test cases,
// share a link that reopens the code and its result.
import { api, closeError, el, explain, openSocket, showError } from "./api.js";
import { createEditor } from "./editor.js";
import { EXAMPLES } from "./examples.js";
import { describeResult, parseArgs, sourceName } from "./playground-util.js";

const DRAFT = "soulbox.playground";

function loadDraft() {
    try { return JSON.parse(localStorage.getItem(DRAFT)) || {}; } catch { return {}; }
}

export function mount(main, params) {
    const state = {
        language: "", files: [], active: 0, ws: null, running: false,
        executionId: null, result: null, abort: null, disposed: false,
    };
    const ui = build(main);
    const editor = createEditor(ui.editorHost, {
        label: "Code editor",
        onRun: () => run(),
        onChange: (text) => { if (state.files[state.active]) state.files[state.active].content = text; saveDraft(); },
    });

    // ---- files ----
    function renderTabs() {
        ui.tabs.replaceChildren(...state.files.map((f, i) => el("button", {
            type: "button", role: "tab", class: "file-tab", "data-testid": "file-tab", "data-name": f.name,
            "aria-selected": String(i === state.active), tabindex: i === state.active ? "0" : "-1",
            onclick: () => selectFile(i),
            onkeydown: (ev) => {
                const d = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
                if (!d) return;
                ev.preventDefault();
                selectFile((i + d + state.files.length) % state.files.length);
                ui.tabs.querySelector('[aria-selected="true"]').focus();
            },
        }, i === 0 ? `${f.name} (entry)` : f.name)));
        ui.fileName.value = state.files[state.active] ? state.files[state.active].name : "";
        ui.fileRemove.disabled = state.active === 0;
    }
    function selectFile(i) {
        state.active = i;
        editor.text = state.files[i].content;
        renderTabs();
    }
    function addFile() {
        let n = state.files.length + 1, name;
        const ext = sourceName(state.language).replace(/^[^.]*/, "");
        do name = `file${n++}${ext}`; while (state.files.some((f) => f.name === name));
        state.files.push({ name, content: "" });
        selectFile(state.files.length - 1);
        ui.fileName.focus();
        ui.fileName.select();
        saveDraft();
    }
    function renameFile() {
        const name = ui.fileName.value.trim();
        const f = state.files[state.active];
        if (!f || name === f.name) return;
        if (!name || state.files.some((g) => g.name === name)) {
            ui.fileName.value = f.name;
            showError(name ? `A file named ${name} exists already.` : "A file needs a name.");
            return;
        }
        f.name = name;
        renderTabs();
        saveDraft();
    }
    function removeFile() {
        if (state.active === 0) return;
        state.files.splice(state.active, 1);
        selectFile(Math.max(0, state.active - 1));
        saveDraft();
    }

    // ---- languages ----
    async function loadLanguages(preferred) {
        let list;
        try {
            list = await api("GET", "/api/languages");
        } catch (e) {
            showError(e);
            ui.status.textContent = "Languages unavailable";
            return;
        }
        const langs = list.languages.slice().sort((a, b) => a.name.localeCompare(b.name));
        ui.lang.replaceChildren(...langs.map((l) => el("option", { value: l.name },
            `${l.name}${l.version ? ` (${l.version.split("\n")[0].slice(0, 40)})` : ""}`)));
        const names = langs.map((l) => l.name);
        const pick = [preferred, "python", names[0]].find((n) => n && names.includes(n));
        if (pick) ui.lang.value = pick;
        if (list.probing && list.probing.length)
            ui.langNote.textContent = `Still checking: ${list.probing.join(", ")}`;
        return pick;
    }
    function setLanguage(name, { keepFiles = false } = {}) {
        const previous = state.language;
        state.language = name;
        editor.setLanguage(name);
        if (keepFiles) return;
        const untouched = !state.files.length ||
            (state.files.length === 1 && state.files[0].content === (EXAMPLES[previous] || ""));
        if (untouched) {
            state.files = [{ name: sourceName(name), content: EXAMPLES[name] || "" }];
            selectFile(0);
        } else {
            state.files[0].name = sourceName(name);
            renderTabs();
        }
        saveDraft();
    }

    // ---- the request ----
    function request() {
        const req = { language: state.language };
        if (state.files.length === 1) req.code = state.files[0].content;
        else req.files = state.files.map((f) => ({ name: f.name, content: f.content }));
        const args = parseArgs(ui.args.value);
        if (args.length) req.args = args;
        const limits = {};
        for (const [input, key] of [[ui.wall, "wall_time_ms"], [ui.memory, "memory_mb"]]) {
            const v = input.value.trim();
            if (v) limits[key] = Number(v);
        }
        if (Object.keys(limits).length) req.limits = limits;
        return req;
    }
    function validLimits() {
        for (const input of [ui.wall, ui.memory]) {
            if (!input.checkValidity()) {
                input.reportValidity();
                return false;
            }
        }
        return true;
    }

    // ---- running ----
    function setRunning(on) {
        state.running = on;
        ui.run.disabled = on;
        ui.runTests.disabled = on;
        ui.stop.disabled = !on;
        ui.live.hidden = !(on && ui.interactive.checked);
        main.dataset.running = String(on);
    }
    function clearOutput() {
        ui.stdout.textContent = "";
        ui.stderr.textContent = "";
        ui.compile.textContent = "";
        ui.compileBox.hidden = true;
        ui.exitCode.textContent = ui.time.textContent = ui.memoryUsed.textContent = "";
        ui.cases.replaceChildren();
        ui.caseSummary.textContent = "";
        ui.shareOut.hidden = true;
        state.result = null;
        state.executionId = null;
        setStatus("", "");
    }
    function setStatus(text, kind) {
        ui.status.textContent = text;
        ui.status.dataset.kind = kind || "";
    }
    function showResult(r) {
        state.result = r;
        const d = describeResult(r);
        setStatus(d.text, d.kind);
        ui.status.dataset.status = r.status || "";
        ui.exitCode.textContent = r.exit_code !== null && r.exit_code !== undefined ? `exit code ${r.exit_code}`
            : r.signal ? `signal ${r.signal}` : "";
        ui.time.textContent = r.wall_time_ms !== undefined ? `${r.wall_time_ms} ms wall, ${r.cpu_time_ms} ms CPU` : "";
        ui.memoryUsed.textContent = r.memory_kb ? `${(r.memory_kb / 1024).toFixed(1)} MiB peak` : "";
        if (r.compile_output) {
            ui.compile.textContent = r.compile_output;
            ui.compileBox.hidden = false;
        }
        if (r.stdout !== undefined && !ui.stdout.textContent) ui.stdout.textContent = r.stdout;
        if (r.stderr !== undefined && !ui.stderr.textContent) ui.stderr.textContent = r.stderr;
    }
    function run() {
        if (state.running || !state.language || !validLimits()) return;
        clearOutput();
        setRunning(true);
        setStatus("Connecting…", "busy");
        // one column (a phone): the output is below the editor, show it
        if (matchMedia("(max-width: 900px)").matches) ui.status.scrollIntoView({ block: "start" });
        const req = { type: "execute", ...request() };
        const stdin = ui.stdin.value;
        if (stdin) req.stdin = stdin;
        let ended = false;
        const ws = openSocket(req, {
            onMessage: (m) => {
                switch (m.type) {
                case "started":
                    state.executionId = m.id || state.executionId;
                    setStatus("Running…", "busy");
                    if (!ui.interactive.checked) ws.sendJson({ type: "stdin_close" });
                    else ui.liveInput.focus();
                    break;
                case "stdout": append(ui.stdout, m.data); break;
                case "stderr": append(ui.stderr, m.data); break;
                case "exit":
                    ended = true;
                    if (m.id) state.executionId = m.id;
                    ui.stdout.textContent = m.stdout ?? ui.stdout.textContent;
                    ui.stderr.textContent = m.stderr ?? ui.stderr.textContent;
                    showResult(m);
                    break;
                case "error":
                    ended = true;
                    setStatus(`Not run: ${m.error.message}`, "bad");
                    ui.status.dataset.status = m.error.code;
                    break;
                }
            },
            onClose: (ev) => {
                state.ws = null;
                setRunning(false);
                const err = closeError(ev);
                if (err) {
                    setStatus(explain(err), "bad");
                    showError(err);
                } else if (!ended) {
                    setStatus("The connection closed before the program ended", "bad");
                }
            },
        });
        state.ws = ws;
    }
    function append(pre, text) {
        const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(text);
        if (atEnd) pre.scrollTop = pre.scrollHeight;
    }
    function stop() {
        if (state.ws) {
            state.ws.sendJson({ type: "kill" });
            setStatus("Stopping…", "busy");
        }
        if (state.abort) state.abort.abort();
    }
    function sendLive(ev) {
        ev.preventDefault();
        if (!state.ws) return;
        const text = ui.liveInput.value + "\n";
        state.ws.sendJson({ type: "stdin", data: text });
        ui.liveEcho.append(el("div", {}, `› ${ui.liveInput.value}`));
        ui.liveInput.value = "";
    }
    function closeLive() {
        if (state.ws) state.ws.sendJson({ type: "stdin_close" });
        ui.live.hidden = true;
    }

    // ---- test cases ----
    function addCase(c = { stdin: "", expected_output: "" }) {
        const row = el("div", { class: "case", "data-testid": "case" });
        const n = ui.caseList.children.length + 1;
        const stdinId = `case-stdin-${n}-${Date.now()}`, expId = `case-exp-${n}-${Date.now()}`;
        row.append(
            el("div", { class: "field" }, el("label", { for: stdinId }, `Case ${n} input`),
                el("textarea", { id: stdinId, class: "mono", rows: "2", "data-testid": "case-stdin" }, c.stdin)),
            el("div", { class: "field" }, el("label", { for: expId }, `Case ${n} expected output`),
                el("textarea", { id: expId, class: "mono", rows: "2", "data-testid": "case-expected" }, c.expected_output)),
            el("button", { type: "button", class: "danger", "aria-label": `Remove case ${n}`, "data-testid": "case-remove",
                onclick: () => { row.remove(); saveDraft(); } }, "Remove"));
        row.addEventListener("input", saveDraft);
        ui.caseList.append(row);
    }
    function cases() {
        return [...ui.caseList.querySelectorAll(".case")].map((row) => ({
            stdin: row.querySelector('[data-testid="case-stdin"]').value,
            expected_output: row.querySelector('[data-testid="case-expected"]').value,
        }));
    }
    async function runTests() {
        const tc = cases();
        if (state.running || !tc.length || !validLimits()) {
            if (!tc.length) showError("Add a test case first.");
            return;
        }
        clearOutput();
        setRunning(true);
        setStatus(`Judging ${tc.length} case${tc.length > 1 ? "s" : ""}…`, "busy");
        state.abort = new AbortController();
        try {
            const r = await api("POST", "/api/execute", { json: { ...request(), test_cases: tc }, signal: state.abort.signal });
            state.executionId = r.id;
            showCases(r);
        } catch (e) {
            if (e.name === "AbortError") setStatus("Stopped", "bad");
            else { setStatus(explain(e), "bad"); showError(e); }
        } finally {
            state.abort = null;
            setRunning(false);
        }
    }
    function showCases(r) {
        state.result = r;
        if (r.status === "compile_error" || !r.test_cases) {
            showResult(r);
            return;
        }
        const s = r.summary || {};
        const verdict = (s.verdict || r.status).replaceAll("_", " ");
        setStatus(`${s.accepted}/${s.total} accepted — ${verdict}`, s.accepted === s.total ? "ok" : "bad");
        ui.status.dataset.status = s.verdict || r.status;
        ui.caseSummary.textContent = `${s.accepted} of ${s.total} cases accepted`;
        ui.cases.replaceChildren(...r.test_cases.map((c) => el("li", {
            class: c.verdict === "accepted" ? "ok" : "bad", "data-testid": "case-verdict", "data-verdict": c.verdict,
        }, el("strong", {}, `Case ${c.index + 1}: ${c.verdict.replaceAll("_", " ")}`),
        ` — ${c.wall_time_ms} ms`, c.verdict !== "accepted" && c.stdout !== undefined
            ? el("pre", { class: "mono case-out" }, `got: ${c.stdout}${c.stderr ? `\nstderr: ${c.stderr}` : ""}`) : null)));
    }

    // ---- share ----
    async function share() {
        const body = { ...request() };
        if (ui.stdin.value) body.stdin = ui.stdin.value;
        const tc = cases();
        if (tc.length) body.test_cases = tc;
        if (state.executionId) body.execution_id = state.executionId;
        try {
            const r = await api("POST", "/api/shares", { json: body });
            ui.shareLink.value = new URL(r.url, location.origin).href;
            ui.shareOut.hidden = false;
            ui.shareLink.focus();
            ui.shareLink.select();
        } catch (e) {
            showError(e);
        }
    }
    async function openShare(id) {
        let s;
        try {
            s = await api("GET", `/api/shares/${encodeURIComponent(id)}`);
        } catch (e) {
            showError(e.status === 404 ? "This share link does not exist (or was pruned)." : e);
            return false;
        }
        ui.lang.value = s.language;
        setLanguage(s.language, { keepFiles: true });
        state.files = s.files ? s.files.map((f) => ({ name: f.name, content: f.content }))
            : [{ name: sourceName(s.language), content: s.code || "" }];
        selectFile(0);
        ui.stdin.value = s.stdin || "";
        ui.args.value = (s.args || []).map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" ");
        ui.wall.value = s.limits && s.limits.wall_time_ms || "";
        ui.memory.value = s.limits && s.limits.memory_mb || "";
        ui.caseList.replaceChildren();
        for (const c of s.test_cases || []) addCase(c);
        if (s.result) {
            if (s.result.test_cases) showCases(s.result);
            else {
                ui.stdout.textContent = s.result.stdout || "";
                ui.stderr.textContent = s.result.stderr || "";
                showResult(s.result);
            }
        }
        ui.shared.hidden = false;
        return true;
    }

    // ---- draft, kept across reloads ----
    function saveDraft() {
        if (state.disposed || !state.language) return;
        localStorage.setItem(DRAFT, JSON.stringify({
            language: state.language, files: state.files, stdin: ui.stdin.value, args: ui.args.value,
            wall: ui.wall.value, memory: ui.memory.value, interactive: ui.interactive.checked, cases: cases(),
        }));
    }

    // ---- wiring ----
    ui.lang.addEventListener("change", () => setLanguage(ui.lang.value));
    ui.run.addEventListener("click", run);
    ui.stop.addEventListener("click", stop);
    ui.runTests.addEventListener("click", runTests);
    ui.addCase.addEventListener("click", () => { addCase(); saveDraft(); });
    ui.fileAdd.addEventListener("click", addFile);
    ui.fileName.addEventListener("change", renameFile);
    ui.fileRemove.addEventListener("click", removeFile);
    ui.liveForm.addEventListener("submit", sendLive);
    ui.liveClose.addEventListener("click", closeLive);
    ui.share.addEventListener("click", share);
    ui.copy.addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText(ui.shareLink.value));
    ui.interactive.addEventListener("change", () => { ui.live.hidden = !(state.running && ui.interactive.checked); saveDraft(); });
    for (const i of [ui.stdin, ui.args, ui.wall, ui.memory]) i.addEventListener("input", saveDraft);
    const onKey = (ev) => {
        if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter" && !ev.defaultPrevented) {
            ev.preventDefault();
            run();
        } else if (ev.key === "Escape" && state.running) {
            stop();
        }
    };
    main.addEventListener("keydown", onKey);

    (async () => {
        const draft = loadDraft();
        const shareId = params.get("share");
        const pick = await loadLanguages(draft.language);
        if (state.disposed || !pick) return;
        if (shareId && await openShare(shareId)) return;
        state.language = pick;
        editor.setLanguage(pick);
        if (draft.language === pick && Array.isArray(draft.files) && draft.files.length) {
            state.files = draft.files;
            ui.stdin.value = draft.stdin || "";
            ui.args.value = draft.args || "";
            ui.wall.value = draft.wall || "";
            ui.memory.value = draft.memory || "";
            ui.interactive.checked = !!draft.interactive;
            for (const c of draft.cases || []) addCase(c);
            selectFile(0);
        } else {
            state.language = "";
            setLanguage(pick);
        }
    })();

    return () => {
        state.disposed = true;
        if (state.ws) state.ws.close();
        if (state.abort) state.abort.abort();
        editor.destroy();
    };
}

// The view's DOM; returns the elements the code above uses.
function build(main) {
    const ui = {};
    const field = (label, id, input) => el("div", { class: "field" }, el("label", { for: id }, label), input);
    ui.lang = el("select", { id: "pg-language", "data-testid": "language-select" });
    ui.langNote = el("span", { class: "muted", "aria-live": "polite" });
    ui.run = el("button", { type: "button", class: "primary", "data-testid": "run", title: "Run (Ctrl+Enter)" }, "Run");
    ui.stop = el("button", { type: "button", class: "danger", "data-testid": "stop", disabled: true, title: "Stop (Escape)" }, "Stop");
    ui.share = el("button", { type: "button", "data-testid": "share" }, "Share");
    ui.shareLink = el("input", { id: "pg-share-link", readonly: true, class: "mono", "data-testid": "share-link", "aria-label": "Share link" });
    ui.copy = el("button", { type: "button", "data-testid": "share-copy" }, "Copy");
    ui.shareOut = el("span", { class: "row share-out", hidden: true }, ui.shareLink, ui.copy);
    ui.shared = el("p", { class: "muted", hidden: true, "data-testid": "shared-note" }, "Opened from a share link: running it again runs your copy.");

    ui.tabs = el("div", { role: "tablist", "aria-label": "Files", class: "file-tabs" });
    ui.fileAdd = el("button", { type: "button", "data-testid": "file-add", "aria-label": "Add a file" }, "+ File");
    ui.fileName = el("input", { id: "pg-file-name", class: "mono", "data-testid": "file-name", spellcheck: "false" });
    ui.fileRemove = el("button", { type: "button", class: "danger", "data-testid": "file-remove" }, "Remove file");
    ui.editorHost = el("div", { class: "editor-host", "data-testid": "editor" });

    ui.stdin = el("textarea", { id: "pg-stdin", class: "mono", rows: "3", "data-testid": "stdin", spellcheck: "false" });
    ui.interactive = el("input", { id: "pg-interactive", type: "checkbox", "data-testid": "interactive" });
    ui.args = el("input", { id: "pg-args", class: "mono", "data-testid": "args", placeholder: 'e.g. -n 3 "two words"', spellcheck: "false" });
    ui.wall = el("input", { id: "pg-wall", type: "number", min: "1", step: "1", "data-testid": "limit-wall", placeholder: "server default" });
    ui.memory = el("input", { id: "pg-memory", type: "number", min: "1", step: "1", "data-testid": "limit-memory", placeholder: "server default" });

    ui.caseList = el("div", { class: "case-list" });
    ui.addCase = el("button", { type: "button", "data-testid": "case-add" }, "+ Test case");
    ui.runTests = el("button", { type: "button", "data-testid": "run-tests" }, "Run tests");

    ui.status = el("span", { class: "status", role: "status", "aria-live": "polite", "data-testid": "status" });
    ui.exitCode = el("span", { class: "muted", "data-testid": "exit-code" });
    ui.time = el("span", { class: "muted", "data-testid": "time" });
    ui.memoryUsed = el("span", { class: "muted", "data-testid": "memory" });
    ui.stdout = el("pre", { class: "out mono", tabindex: "0", "aria-label": "Standard output", "data-testid": "stdout" });
    ui.stderr = el("pre", { class: "out err mono", tabindex: "0", "aria-label": "Standard error", "data-testid": "stderr" });
    ui.compile = el("pre", { class: "out err mono", tabindex: "0", "aria-label": "Compiler output", "data-testid": "compile-output" });
    ui.compileBox = el("div", { hidden: true }, el("h3", {}, "Compiler"), ui.compile);
    ui.liveInput = el("input", { id: "pg-live", class: "mono", autocomplete: "off", spellcheck: "false", "data-testid": "stdin-live" });
    ui.liveClose = el("button", { type: "button", "data-testid": "stdin-close" }, "Close stdin");
    ui.liveEcho = el("div", { class: "live-echo mono muted", "aria-label": "Input sent" });
    ui.liveForm = el("form", { class: "row" },
        el("label", { for: "pg-live" }, "Input"), ui.liveInput,
        el("button", { type: "submit", "data-testid": "stdin-send" }, "Send"), ui.liveClose);
    ui.live = el("div", { class: "live card", hidden: true, "data-testid": "live-input" }, ui.liveForm, ui.liveEcho);
    ui.cases = el("ol", { class: "case-results", "data-testid": "case-results" });
    ui.caseSummary = el("p", { "data-testid": "case-summary" });

    main.append(el("section", { class: "pg", "aria-label": "Playground" },
        el("h1", { class: "visually-hidden" }, "Playground"),
        el("div", { class: "pg-toolbar row" },
            el("label", { for: "pg-language" }, "Language"), ui.lang, ui.run, ui.stop, ui.share, ui.shareOut,
            el("span", { class: "muted hint" }, "Ctrl/⌘+Enter runs · Esc stops"), ui.langNote),
        ui.shared,
        el("div", { class: "pg-main" },
            el("div", { class: "pg-left" },
                el("div", { class: "row file-bar" }, ui.tabs, ui.fileAdd),
                ui.editorHost,
                el("div", { class: "row file-tools" },
                    el("label", { for: "pg-file-name" }, "File name"), ui.fileName, ui.fileRemove),
                el("div", { class: "pg-options" },
                    field("Standard input", "pg-stdin", ui.stdin),
                    el("div", { class: "row check" }, ui.interactive,
                        el("label", { for: "pg-interactive" }, "Keep stdin open while it runs (type into the program)")),
                    el("div", { class: "row limits" },
                        field("Arguments", "pg-args", ui.args),
                        field("Wall time limit (ms)", "pg-wall", ui.wall),
                        field("Memory limit (MB)", "pg-memory", ui.memory))),
                el("section", { class: "tests card", "aria-labelledby": "pg-tests-title" },
                    el("h2", { id: "pg-tests-title" }, "Test cases"),
                    el("p", { class: "muted" }, "Compiled once; each case runs in a fresh sandbox and is judged on its output."),
                    ui.caseList, el("div", { class: "row" }, ui.addCase, ui.runTests))),
            el("div", { class: "pg-right", "aria-label": "Result" },
                el("div", { class: "status-line" }, ui.status, ui.exitCode, ui.time, ui.memoryUsed),
                ui.live,
                el("h2", {}, "Output"), ui.stdout,
                el("h3", {}, "Errors"), ui.stderr,
                ui.compileBox, ui.caseSummary, ui.cases))));
    return ui;
}
