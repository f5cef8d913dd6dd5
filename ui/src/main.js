// The web UI's shell: routes (/, /ui/sessions, /ui/admin), the API key
// dialog, the theme, the error banner. Each view mounts into <main> and
// returns a function that unmounts it.
import { clearError, getKey, setKey } from "./api.js";
import * as playground from "./playground.js";
import * as sessions from "./sessions.js";
import * as admin from "./admin.js";

const VIEWS = [
    { path: "/ui/sessions", view: sessions, title: "Sessions" },
    { path: "/ui/admin", view: admin, title: "Dashboard" },
    { path: "/", view: playground, title: "Playground" },
];

let unmount = null;

function route() {
    const path = location.pathname.replace(/\/+$/, "") || "/";
    const r = VIEWS.find((v) => v.path === path) || VIEWS[VIEWS.length - 1];
    if (unmount) unmount();
    clearError();
    const main = document.getElementById("main");
    main.replaceChildren();
    main.dataset.view = r.title.toLowerCase();
    document.title = `${r.title} · SoulBox`;
    for (const a of document.querySelectorAll("nav a[data-nav]")) {
        if (a.getAttribute("href") === r.path) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
    }
    unmount = r.view.mount(main, new URLSearchParams(location.search)) || null;
}

export function navigate(url) {
    history.pushState(null, "", url);
    route();
}

// ---- theme: the visitor's choice, else the system's ----
function applyTheme(t) {
    document.documentElement.dataset.theme = t;
    const b = document.getElementById("theme-toggle");
    b.setAttribute("aria-pressed", String(t === "dark"));
    b.textContent = t === "dark" ? "Light theme" : "Dark theme";
    document.dispatchEvent(new CustomEvent("soulbox:theme"));
}

function initTheme() {
    const saved = localStorage.getItem("soulbox.theme");
    const system = matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
    applyTheme(saved === "dark" || saved === "light" ? saved : system);
    document.getElementById("theme-toggle").addEventListener("click", () => {
        const t = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
        localStorage.setItem("soulbox.theme", t);
        applyTheme(t);
    });
}

// ---- the API key: entered once, kept in session storage ----
function initKey() {
    const dlg = document.getElementById("key-dialog");
    const input = document.getElementById("key-input");
    const button = document.getElementById("key-button");
    const label = () => { button.textContent = getKey() ? "API key ✓" : "API key"; };
    const open = () => { input.value = getKey(); if (!dlg.open) dlg.showModal(); input.focus(); };
    button.addEventListener("click", open);
    document.addEventListener("soulbox:need-key", open);
    dlg.addEventListener("close", () => {
        if (dlg.returnValue === "save") setKey(input.value.trim());
        else if (dlg.returnValue === "forget") setKey("");
        else return;
        label();
        clearError();
        route();
    });
    label();
}

document.addEventListener("click", (ev) => {
    const a = ev.target.closest && ev.target.closest("a[data-nav]");
    if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
    ev.preventDefault();
    navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);
document.getElementById("banner-close").addEventListener("click", clearError);
initTheme();
initKey();
route();
