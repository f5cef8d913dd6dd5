// bench/ui.sh's measurements (run under tests/sdk/with_server.py).
import { chromium } from "../../tests/ui/node_modules/playwright-core/index.mjs";

const URL = process.env.SOULBOX_URL, KEY = process.env.SOULBOX_API_KEY;
const RUNS = Number(process.argv[2] || 30);
const CODE = 'print("Hello, SoulBox!")\n';

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const fmt = (a) => `p50 ${pct(a, 0.5).toFixed(1)} ms  p90 ${pct(a, 0.9).toFixed(1)} ms`;

// One execute over a raw WebSocket from the same browser (no UI), until the exit event.
function rawRun(page) {
    return page.evaluate(([key, code]) => new Promise((resolve, reject) => {
        const t0 = performance.now();
        const ws = new WebSocket(location.origin.replace("http", "ws") + "/api/ws");
        ws.onopen = () => {
            ws.send(JSON.stringify({ type: "auth", key }));
            ws.send(JSON.stringify({ type: "execute", language: "python", code }));
        };
        ws.onmessage = (ev) => {
            const m = JSON.parse(ev.data);
            if (m.type === "started") ws.send(JSON.stringify({ type: "stdin_close" }));
            if (m.type === "exit") { resolve(performance.now() - t0); ws.close(); }
            if (m.type === "error") reject(new Error(m.error.message));
        };
        ws.onerror = () => reject(new Error("websocket error"));
    }), [KEY, CODE]);
}

const ready = () => document.querySelector('[data-testid="language-select"]')?.options.length > 0 &&
    document.querySelector('[data-testid="editor"] .cm-content');

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
const cold = [], warm = [], ui = [], raw = [];
const ctx = await browser.newContext();
await ctx.addInitScript((k) => sessionStorage.setItem("soulbox.apiKey", k), KEY);
for (let i = 0; i < Math.min(RUNS, 15); i++) {
    const c = await browser.newContext();                 // empty cache
    await c.addInitScript((k) => sessionStorage.setItem("soulbox.apiKey", k), KEY);
    const p = await c.newPage();
    let t0 = performance.now();
    await p.goto(URL + "/");
    await p.waitForFunction(ready);
    cold.push(performance.now() - t0);
    t0 = performance.now();
    await p.reload();
    await p.waitForFunction(ready);
    warm.push(performance.now() - t0);
    await c.close();
}
const page = await ctx.newPage();
await page.goto(URL + "/");
await page.waitForFunction(ready);
await page.getByTestId("language-select").selectOption("python");
await page.locator('[data-testid="editor"] .cm-content').click();
await page.keyboard.press("Control+a");
await page.keyboard.insertText(CODE);
for (let i = 0; i < 3; i++) { await rawRun(page); }          // warm both paths up
for (let i = 0; i < RUNS; i++) {
    raw.push(await rawRun(page));
    // timed inside the page: from the click to the status showing the result
    ui.push(await page.evaluate(() => new Promise((resolve) => {
        const main = document.querySelector("main");
        const t0 = performance.now();
        const obs = new MutationObserver(() => {
            if (main.dataset.running === "false") { obs.disconnect(); resolve(performance.now() - t0); }
        });
        obs.observe(main, { attributes: true, attributeFilter: ["data-running"] });
        document.querySelector('[data-testid="run"]').click();
    })));
    if (await page.getByTestId("status").getAttribute("data-status") !== "ok") throw new Error("not ok");
    if (await page.getByTestId("stdout").textContent() !== "Hello, SoulBox!\n") throw new Error("wrong output");
}
await browser.close();
console.log(`page load, empty cache (${cold.length}):   ${fmt(cold)}`);
console.log(`page load, reload (${warm.length}):        ${fmt(warm)}`);
console.log(`raw WebSocket run (${raw.length}):         ${fmt(raw)}`);
console.log(`run from the page (${ui.length}):          ${fmt(ui)}`);
console.log(`page run / raw run (p50):      ${(pct(ui, 0.5) / pct(raw, 0.5)).toFixed(2)}x  (+${(pct(ui, 0.5) - pct(raw, 0.5)).toFixed(1)} ms)`);
