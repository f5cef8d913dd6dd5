// The API from the browser: the key (session storage), JSON calls, errors in
// words, and the WebSocket with its in-band auth.
const KEY = "soulbox.apiKey";

export function getKey() {
    return sessionStorage.getItem(KEY) || "";
}

export function setKey(key) {
    if (key) sessionStorage.setItem(KEY, key);
    else sessionStorage.removeItem(KEY);
    document.dispatchEvent(new CustomEvent("soulbox:key"));
}

export class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
        super(message);
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;
    }
}

function authHeaders() {
    const k = getKey();
    return k ? { Authorization: `Bearer ${k}` } : {};
}

// fetch() with the key; throws ApiError for a non-2xx answer (or no answer).
export async function request(method, path, { json, body, headers = {}, signal } = {}) {
    const h = { ...authHeaders(), ...headers };
    if (json !== undefined) {
        h["Content-Type"] = "application/json";
        body = JSON.stringify(json);
    }
    let r;
    try {
        r = await fetch(path, { method, headers: h, body, signal });
    } catch (e) {
        if (e.name === "AbortError") throw e;
        throw new ApiError(0, "unreachable", "cannot reach the server", 0);
    }
    if (r.ok) return r;
    let code = "error", message = `${r.status} ${r.statusText}`;
    try {
        const e = (await r.json()).error;
        if (e) ({ code, message } = e);
    } catch { /* not JSON */ }
    throw new ApiError(r.status, code, message, Number(r.headers.get("Retry-After")) || 0);
}

export async function api(method, path, opts) {
    const r = await request(method, path, opts);
    return r.status === 204 ? null : r.json();
}

// What went wrong, in words a person can act on.
export function explain(err) {
    if (!(err instanceof ApiError)) return String(err && err.message || err);
    const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : " Try again shortly.";
    switch (err.status) {
    case 0: return "Cannot reach the SoulBox server: is it running?";
    case 401: return getKey()
        ? `The API key was refused (${err.message}). Enter another with "API key".`
        : `This server needs an API key: enter it with "API key".`;
    case 403: return `Not allowed with this API key: ${err.message}.`;
    case 429: return `Too many requests: ${err.message}.${wait}`;
    case 503: return `The server cannot take this now: ${err.message}.${wait}`;
    default: return `${err.message} (${err.status} ${err.code})`;
    }
}

// A WebSocket close code 4000 + status as an ApiError (4401, 4429, 4503).
export function closeError(ev) {
    if (ev.code >= 4000 && ev.code < 5000)
        return new ApiError(ev.code - 4000, "closed", ev.reason || "connection closed", 0);
    return null;
}

// Opens /api/ws; authenticates in band (browsers cannot set headers), then
// sends first. onMessage gets each parsed message.
export function openSocket(first, { onMessage, onClose, onError }) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/ws`);
    ws.addEventListener("open", () => {
        const k = getKey();
        if (k) ws.send(JSON.stringify({ type: "auth", key: k }));
        ws.send(JSON.stringify(first));
    });
    ws.addEventListener("message", (ev) => {
        let m;
        try { m = JSON.parse(ev.data); } catch { return; }
        if (m.type === "authenticated") return;
        onMessage(m);
    });
    ws.addEventListener("close", (ev) => onClose && onClose(ev));
    ws.addEventListener("error", () => onError && onError());
    ws.sendJson = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
    return ws;
}

// The page's banner: one message at a time, announced to screen readers.
export function showError(err) {
    const text = typeof err === "string" ? err : explain(err);
    document.getElementById("banner-text").textContent = text;
    const b = document.getElementById("banner");
    b.dataset.status = err instanceof ApiError ? String(err.status) : "";
    b.hidden = false;
    if (err instanceof ApiError && err.status === 401)
        document.dispatchEvent(new CustomEvent("soulbox:need-key"));
}

export function clearError() {
    document.getElementById("banner").hidden = true;
}

// A small DOM builder: el("div", {class: "x", "data-testid": "y"}, child, "text").
export function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
        else if (k === "text") e.textContent = v;
        else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
        if (c === null || c === undefined || c === false) continue;
        e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
}

export function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
