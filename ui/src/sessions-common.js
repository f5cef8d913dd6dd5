// Helpers shared by the Sessions view's panes: modal dialogs (confirm, ask
// for a name), times in words, session paths.
import { el, showError } from "./api.js";

// Errors go to the page's banner (a 401 opens the key dialog).
export function report(err) {
    showError(err);
}

// A modal <dialog> with a message and buttons; resolves with the button's
// value, or "" when dismissed (Escape). body: extra nodes (an input).
function modal(title, message, buttons, body = null, focus = null) {
    return new Promise((resolve) => {
        const titleId = `sx-dlg-${Math.random().toString(36).slice(2)}`;
        const form = el("form", { method: "dialog" },
            el("h2", { id: titleId }, title),
            message ? el("p", {}, message) : null,
            body,
            el("div", { class: "row sx-dialog-buttons" }, buttons.map((b) =>
                el("button", {
                    value: b.value, class: b.class, "data-testid": b.testid,
                    type: "submit", formnovalidate: b.value === "cancel" ? true : undefined,
                }, b.label))));
        const dlg = el("dialog", { "aria-labelledby": titleId, class: "sx-dialog", "data-testid": "sx-dialog" }, form);
        document.body.append(dlg);
        dlg.addEventListener("close", () => {
            const v = dlg.returnValue;
            dlg.remove();
            resolve(v === "cancel" ? "" : v);
        });
        dlg.showModal();
        if (focus) focus.focus();
    });
}

// Asks "are you sure?": resolves true when the danger button was chosen.
export async function confirmDialog(title, message, action = "Delete") {
    const v = await modal(title, message, [
        { value: "ok", label: action, class: "danger", testid: "confirm-ok" },
        { value: "cancel", label: "Cancel", testid: "confirm-cancel" },
    ]);
    return v === "ok";
}

// Asks for a line of text (a name); resolves with it, or null when cancelled.
export async function askText(title, label, initial = "", action = "OK") {
    const id = `sx-ask-${Math.random().toString(36).slice(2)}`;
    const input = el("input", {
        id, type: "text", value: initial, required: true, spellcheck: "false",
        autocomplete: "off", "data-testid": "ask-input",
    });
    const body = el("div", { class: "field" }, el("label", { for: id }, label), input);
    const p = modal(title, null, [
        { value: "ok", label: action, class: "primary", testid: "ask-ok" },
        { value: "cancel", label: "Cancel", testid: "ask-cancel" },
    ], body, input);
    input.select();
    const v = await p;
    return v === "ok" && input.value.trim() ? input.value.trim() : null;
}

// "3 min", "2 h 5 min": a duration in seconds, in words.
export function duration(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min`;
    const h = Math.floor(m / 60);
    if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
    return `${Math.floor(h / 24)} d`;
}

export function ago(iso) {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? "" : `${duration((Date.now() - t) / 1000)} ago`;
}

export function dateTime(iso) {
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? "" : t.toLocaleString();
}

export const HOME = "/home/user";

// Joins and cleans a path lexically (as the server does).
export function joinPath(dir, name) {
    const parts = [];
    for (const p of `${name.startsWith("/") ? "" : dir}/${name}`.split("/")) {
        if (!p || p === ".") continue;
        if (p === "..") parts.pop();
        else parts.push(p);
    }
    return "/" + parts.join("/");
}

export function parentPath(p) {
    return joinPath(p, "..");
}

export function baseName(p) {
    return p.split("/").filter(Boolean).pop() || "/";
}

// The language of a file (for the editor's highlighting), by its extension.
const EXT = {
    py: "python", js: "javascript", mjs: "javascript", cjs: "javascript", ts: "typescript",
    json: "javascript", c: "c", h: "c", cc: "cpp", cpp: "cpp", hpp: "cpp", java: "java",
    rs: "rust", go: "go", sh: "bash", bash: "bash", rb: "ruby", lua: "lua", pl: "perl",
    r: "r", hs: "haskell", kt: "kotlin", scala: "scala", cs: "csharp", sql: "sql",
};
export function languageOf(name) {
    const m = /\.([A-Za-z0-9]+)$/.exec(name);
    return (m && EXT[m[1].toLowerCase()]) || "";
}

// Per-tab memory for a session (terminal pid, context id, cells): session storage.
export function remember(sid, what, value) {
    const k = `soulbox.session.${sid}.${what}`;
    try {
        if (value === undefined) return JSON.parse(sessionStorage.getItem(k) || "null");
        if (value === null) sessionStorage.removeItem(k);
        else sessionStorage.setItem(k, JSON.stringify(value));
    } catch { /* storage full or off */ }
    return null;
}

export function sessionPath(sid, rest = "") {
    return `/api/sandboxes/${encodeURIComponent(sid)}${rest}`;
}
