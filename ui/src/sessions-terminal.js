// The Terminal tab: `bash -i` on a pseudo-terminal in the session, shown by
// xterm.js over /api/ws ({"type":"command", "pty": true}). Keystrokes go as
// `stdin`, the size as `resize`; leaving the tab or the page only detaches
// (the shell runs on and is attached again, with its output so far, next time).
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { api, ApiError, closeError, el, openSocket } from "./api.js";
import { remember, sessionPath, report } from "./sessions-common.js";

function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function theme() {
    const bg = cssVar("--code-bg"), fg = cssVar("--fg");
    return { background: bg, foreground: fg, cursor: fg, cursorAccent: bg, selectionBackground: cssVar("--border") };
}

export function createTerminal(panel, sid) {
    let term = null, fit = null, ws = null, pid = null, running = false, visible = false, ro = null, started = false;
    const status = el("span", { class: "muted", role: "status", "aria-live": "polite", "data-testid": "terminal-status" }, "Not started");
    const intBtn = el("button", { type: "button", "data-testid": "terminal-interrupt", title: "Send SIGINT (Ctrl+C)", disabled: true }, "Interrupt");
    const newBtn = el("button", { type: "button", "data-testid": "terminal-new", title: "End this shell and start another" }, "New terminal");
    const reBtn = el("button", { type: "button", "data-testid": "terminal-reconnect", hidden: true }, "Reconnect");
    const host = el("div", {
        class: "sx-term", "data-testid": "terminal", role: "group",
        "aria-label": "Terminal (bash in the session). Tab goes to the shell: press Escape then Tab to leave.",
    });
    panel.append(
        el("div", { class: "row sx-term-bar" }, status, el("span", { class: "spacer" }), reBtn, intBtn, newBtn),
        host);

    function setStatus(text, cls = "muted") {
        status.textContent = text;
        status.className = cls;
    }

    function init() {
        term = new Terminal({
            cursorBlink: true, convertEol: false, scrollback: 5000, fontSize: 14,
            fontFamily: '"DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace',
            theme: theme(),
        });
        fit = new FitAddon();
        term.loadAddon(fit);
        term.open(host);
        // Escape, then Tab, leaves the terminal (Tab alone completes in bash).
        let escaped = false;
        term.attachCustomKeyEventHandler((ev) => {
            if (ev.type !== "keydown") return true;
            if (ev.key === "Tab" && escaped) { escaped = false; return false; }
            escaped = ev.key === "Escape";
            return true;
        });
        term.onData((d) => { if (ws && running) ws.sendJson({ type: "stdin", data: d }); });
        term.onResize(({ rows, cols }) => { if (ws && running) ws.sendJson({ type: "resize", rows, cols }); });
        ro = new ResizeObserver(() => refit());
        ro.observe(host);
        document.addEventListener("soulbox:theme", onTheme);
    }

    function onTheme() { if (term) term.options.theme = theme(); }

    function refit() {
        if (!visible || !fit || !host.offsetWidth) return;
        try { fit.fit(); } catch { /* not laid out yet */ }
    }

    function connect(first) {
        const socket = openSocket(first, {
            onMessage(m) {
                if (socket !== ws) return;
                switch (m.type) {
                case "started":
                    pid = m.pid;
                    running = true;
                    remember(sid, "terminal", pid);
                    setStatus(`bash running (command ${pid})`, "ok");
                    intBtn.disabled = false;
                    // The size may have changed since the start message.
                    ws.sendJson({ type: "resize", rows: term.rows, cols: term.cols });
                    break;
                case "stdout": case "stderr":
                    term.write(m.data);
                    break;
                case "exit": {
                    running = false;
                    intBtn.disabled = true;
                    remember(sid, "terminal", null);
                    const how = m.signal ? `signal ${m.signal}` : `exit code ${m.exit_code}`;
                    setStatus(`The shell ended (${m.status}, ${how}). "New terminal" starts another.`, "warn");
                    term.write(`\r\n\x1b[2m[process ended: ${m.status}, ${how}]\x1b[0m\r\n`);
                    break;
                }
                case "error":
                    report(new ApiError(0, m.error && m.error.code, m.error && m.error.message, 0));
                    setStatus(`Error: ${m.error ? m.error.message : "unknown"}`, "bad");
                    break;
                }
            },
            onClose(ev) {
                if (socket !== ws) return;
                const err = closeError(ev);
                if (err) report(err);
                if (running) {
                    running = false;
                    intBtn.disabled = true;
                    reBtn.hidden = false;
                    setStatus("Disconnected: the shell runs on in the session.", "warn");
                }
            },
        });
        ws = socket;
    }

    // Attaches to this tab's shell when it still runs, else starts one.
    async function start() {
        started = true;
        reBtn.hidden = true;
        if (!term) init();
        refit();
        const old = remember(sid, "terminal");
        if (old) {
            try {
                const c = await api("GET", sessionPath(sid, `/commands/${old}`));
                if (c.state === "running") {
                    setStatus(`Attaching to command ${old}…`);
                    term.reset();
                    connect({ type: "command", sandbox_id: sid, pid: old });
                    return;
                }
            } catch (e) {
                if (!(e instanceof ApiError && e.status === 404)) { report(e); return; }
            }
        }
        setStatus("Starting bash…");
        connect({ type: "command", sandbox_id: sid, cmd: "bash -i", pty: true, rows: term.rows, cols: term.cols });
    }

    function detach() {
        const s = ws;
        ws = null;
        running = false;
        if (s) s.close(1000);
    }

    intBtn.addEventListener("click", () => {
        if (ws && running) ws.sendJson({ type: "signal", signal: "SIGINT" });
        term.focus();
    });
    newBtn.addEventListener("click", async () => {
        if (ws && running) ws.sendJson({ type: "kill" });
        detach();
        remember(sid, "terminal", null);
        if (term) term.reset();
        await start();
        term.focus();
    });
    reBtn.addEventListener("click", async () => {
        detach();
        if (term) term.reset();
        await start();
        term.focus();
    });

    return {
        show() {
            visible = true;
            if (!started) start();
            else requestAnimationFrame(refit);
        },
        hide() { visible = false; },
        sandboxChanged() {
            // A pause ended the shell; the resumed sandbox needs a new one.
            detach();
            remember(sid, "terminal", null);
            intBtn.disabled = true;
            setStatus("The shell ended with the pause: a new one starts when this tab is shown.");
            if (term) term.reset();
            started = false;
            if (visible) start();
        },
        destroy() {
            detach();
            document.removeEventListener("soulbox:theme", onTheme);
            if (ro) ro.disconnect();
            if (term) term.dispose();
        },
    };
}
