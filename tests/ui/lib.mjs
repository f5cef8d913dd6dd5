// Shared by the web UI's tests: Debian's Chromium driven by playwright-core
// against the server tests/sdk/with_server.py started (SOULBOX_URL, keys).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const URL = process.env.SOULBOX_URL;
export const KEY = process.env.SOULBOX_API_KEY;
export const OTHER_KEY = process.env.SOULBOX_TEST_OTHER_KEY;
export const ADMIN_KEY = process.env.SOULBOX_TEST_ADMIN_KEY;
if (!URL || !KEY) throw new Error("run under tests/sdk/with_server.py (SOULBOX_URL, SOULBOX_API_KEY)");
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const IMG_DIR = join(ROOT, "docs", "img");

let browser = null;

export async function launch() {
    if (!browser) {
        browser = await chromium.launch({
            executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
            // root in CI: Chromium's own sandbox needs user namespaces it may not get
            args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        });
    }
    return browser;
}

export async function closeBrowser() {
    if (browser) await browser.close();
    browser = null;
}

// A fresh page (its own session storage) at path, with the key entered
// through the UI's dialog unless key is null. Page errors fail the test
// that reads page.errors.
export async function open(path = "/", { key = KEY, viewport, colorScheme = "light" } = {}) {
    const b = await launch();
    const ctx = await b.newContext({ viewport: viewport || { width: 1280, height: 900 }, colorScheme });
    const page = await ctx.newPage();
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(String(e)));
    // (a refused request is logged by the browser itself: not the page's error)
    page.on("console", (m) => {
        if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
            page.errors.push(m.text());
    });
    await page.goto(URL + path);
    if (key) await enterKey(page, key);
    return page;
}

// With auth on, the page's first call is refused and the UI opens its key
// dialog by itself; otherwise (or later) the API key button opens it.
export async function enterKey(page, key) {
    const dialog = page.locator("#key-dialog[open]");
    try {
        await dialog.waitFor({ timeout: 5000 });
    } catch {
        await page.getByTestId("api-key-button").click();
    }
    await page.getByTestId("api-key-input").fill(key);
    await page.getByTestId("api-key-save").click();
}

// Replaces a CodeMirror editor's text (the element with data-testid testid)
// by typing it as the user would paste it.
export async function setEditor(page, text, testid = "editor") {
    const content = page.getByTestId(testid).locator(".cm-content");
    await content.click();
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(text);
}

export async function screenshot(page, name) {
    mkdirSync(IMG_DIR, { recursive: true });
    await page.screenshot({ path: join(IMG_DIR, name), fullPage: false });
}

// GET/POST against the API directly (setup and checks beside the UI).
export async function apiCall(method, path, body, key = KEY) {
    const r = await fetch(URL + path, {
        method,
        headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, json, text };
}
