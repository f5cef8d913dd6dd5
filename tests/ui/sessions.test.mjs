// The Sessions view (/ui/sessions) in Chromium: create a session, its files
// (upload, edit, save, download), a terminal over the WebSocket and Python
// notebook cells (text, a matplotlib chart, HTML that must not run).
//   tests/sdk/with_server.py -- node --test --test-concurrency=1 tests/ui/sessions.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { apiCall, closeBrowser, open, screenshot, setEditor } from "./lib.mjs";

const created = new Set();
let page, sid;

// Replaces the code of the i-th notebook cell, as typed.
async function fillCell(p, i, text) {
    await p.getByTestId("cell").nth(i).getByTestId("cell-editor").locator(".cm-content").click();
    await p.keyboard.press("ControlOrMeta+a");
    await p.keyboard.press("Delete");
    await p.keyboard.insertText(text);
}

// The browser reporting what it blocked inside a cell's sandboxed HTML frame
// (whose own CSP is "img-src data:"): the defence working, not a page error.
const BLOCKED_IN_FRAME = /violates the following Content Security Policy directive: "img-src data:"|Blocked script execution in 'about:srcdoc'/;
const pageErrors = (p) => p.errors.filter((e) => !BLOCKED_IN_FRAME.test(e));

async function termText(p) {
    return p.getByTestId("terminal").locator(".xterm-rows").innerText();
}

describe("sessions view", () => {
    before(async () => {
        page = await open("/ui/sessions");
    });

    after(async () => {
        for (const id of created) await apiCall("DELETE", `/api/sandboxes/${id}`);
        await closeBrowser();
    });

    test("creates a code-interpreter session and lists it", async () => {
        const tpl = page.getByTestId("session-template");
        await tpl.locator("option[value='code-interpreter']").waitFor({ state: "attached" });
        await tpl.selectOption("code-interpreter");
        await page.getByTestId("session-create").click();
        // Creating opens the session.
        const idEl = page.getByTestId("session-id");
        await idEl.waitFor({ timeout: 30000 });
        sid = (await idEl.textContent()).trim();
        assert.match(sid, /^[a-z0-9]{20}$/);
        created.add(sid);
        const s = await apiCall("GET", `/api/sandboxes/${sid}`);
        assert.equal(s.status, 200);
        assert.equal(s.json.template, "code-interpreter");
        // The list has it, with Open and Delete.
        await page.getByTestId("session-back").click();
        const row = page.locator(`[data-testid="session-row"][data-session-id="${sid}"]`);
        await row.waitFor();
        assert.match(await row.innerText(), /code-interpreter/);
        assert.match(await row.innerText(), /running/);
        await row.getByTestId("session-open").click();
        await page.getByTestId("tab-files").waitFor();
        assert.equal((await page.getByTestId("session-id").textContent()).trim(), sid);
        assert.deepEqual(page.errors, []);
    });

    test("tabs are an ARIA tablist driven by the keyboard", async () => {
        const files = page.getByTestId("tab-files");
        assert.equal(await files.getAttribute("role"), "tab");
        assert.equal(await files.getAttribute("aria-selected"), "true");
        await files.focus();
        await page.keyboard.press("ArrowRight");
        const termTab = page.getByTestId("tab-terminal");
        assert.equal(await termTab.getAttribute("aria-selected"), "true");
        assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), "tab-terminal");
        assert.equal(await page.locator("#sx-panel-terminal").isVisible(), true);
        assert.equal(await page.locator("#sx-panel-files").isVisible(), false);
        await page.getByTestId("tab-terminal").focus();
        await page.keyboard.press("ArrowLeft");
        assert.equal(await files.getAttribute("aria-selected"), "true");
    });

    test("uploads a file through the file input and lists it", async () => {
        await page.getByTestId("tab-files").click();
        await page.getByTestId("file-upload").setInputFiles({
            name: "hello.txt", mimeType: "text/plain", buffer: Buffer.from("hello from the browser\n"),
        });
        await page.locator('[data-testid="file-row"][data-name="hello.txt"]').waitFor();
        const r = await apiCall("GET", `/api/sandboxes/${sid}/files?path=/home/user/hello.txt`);
        assert.equal(r.status, 200);
        assert.equal(r.text, "hello from the browser\n");
    });

    test("edits and saves a file", async () => {
        await page.locator('[data-testid="file-row"][data-name="hello.txt"]').getByTestId("file-open").click();
        await page.getByTestId("file-editor").locator(".cm-content").waitFor();
        await page.waitForFunction(() =>
            document.querySelector('[data-testid="file-editor"] .cm-content').innerText.includes("hello from the browser"));
        await setEditor(page, "edited in the UI\nline 2\n", "file-editor");
        await page.getByTestId("file-save").click();
        await page.waitForFunction(() => document.querySelector('[data-testid="file-editor-state"]').textContent === "saved");
        const r = await apiCall("GET", `/api/sandboxes/${sid}/files?path=/home/user/hello.txt`);
        assert.equal(r.text, "edited in the UI\nline 2\n");
    });

    test("downloads a file", async () => {
        const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 255, 10, 13]);
        const fd = new FormData();
        fd.append("file", new Blob([bytes]), "bin.dat");
        const r = await fetch(`${process.env.SOULBOX_URL}/api/sandboxes/${sid}/files?path=/home/user`, {
            method: "POST", body: fd, headers: { Authorization: `Bearer ${process.env.SOULBOX_API_KEY}` },
        });
        assert.equal(r.status, 200);
        await page.getByTestId("file-refresh").click();
        const row = page.locator('[data-testid="file-row"][data-name="bin.dat"]');
        await row.waitFor();
        const [dl] = await Promise.all([
            page.waitForEvent("download"),
            row.getByTestId("file-download").click(),
        ]);
        assert.equal(dl.suggestedFilename(), "bin.dat");
        const got = readFileSync(await dl.path());
        assert.deepEqual([...got], [...bytes]);
    });

    test("makes a folder, renames and deletes a file", async () => {
        await page.getByTestId("file-mkdir").click();
        await page.getByTestId("ask-input").fill("newdir");
        await page.getByTestId("ask-ok").click();
        await page.locator('[data-testid="file-row"][data-name="newdir"]').waitFor();
        await page.locator('[data-testid="file-row"][data-name="bin.dat"]').getByTestId("file-rename").click();
        await page.getByTestId("ask-input").fill("newdir/moved.dat");
        await page.getByTestId("ask-ok").click();
        await page.locator('[data-testid="file-row"][data-name="bin.dat"]').waitFor({ state: "detached" });
        // Into the folder, and back by the breadcrumbs.
        await page.locator('[data-testid="file-row"][data-name="newdir"]').getByTestId("file-open").click();
        const moved = page.locator('[data-testid="file-row"][data-name="moved.dat"]');
        await moved.waitFor();
        await moved.getByTestId("file-delete").click();
        await page.getByTestId("confirm-ok").click();
        await moved.waitFor({ state: "detached" });
        await page.getByTestId("file-breadcrumbs").getByRole("button", { name: "user" }).click();
        await page.locator('[data-testid="file-row"][data-name="hello.txt"]').waitFor();
        const r = await apiCall("GET", `/api/sandboxes/${sid}/files/list?path=/home/user/newdir`);
        assert.deepEqual(r.json.entries, []);
        assert.deepEqual(page.errors, []);
    });

    test("runs a command in the terminal", async () => {
        await page.getByTestId("tab-terminal").click();
        const term = page.getByTestId("terminal");
        await term.locator(".xterm-rows").waitFor();
        await page.waitForFunction(() =>
            /ok/.test(document.querySelector('[data-testid="terminal-status"]').className), null, { timeout: 20000 });
        await term.click();
        await page.keyboard.type("echo hi-$((6*7))");
        await page.keyboard.press("Enter");
        await page.waitForFunction(() =>
            document.querySelector('[data-testid="terminal"] .xterm-rows').innerText.includes("hi-42"), null, { timeout: 20000 });
        assert.match(await termText(page), /hi-42/);
        await screenshot(page, "ui-terminal.png");
        assert.deepEqual(page.errors, []);
    });

    test("runs notebook cells: text, a chart, HTML without scripts", async () => {
        await page.getByTestId("tab-notebook").click();
        const cells = page.getByTestId("cell");
        await cells.first().waitFor();
        // Cell 1: text output.
        await fillCell(page, 0, "print(1+1)");
        await cells.nth(0).getByTestId("cell-run").click();
        const out0 = cells.nth(0).getByTestId("cell-output");
        await page.waitForFunction(() =>
            document.querySelector('[data-testid="cell"] [data-testid="cell-output"]').innerText.trim() === "2",
        null, { timeout: 30000 });
        assert.equal((await out0.innerText()).trim(), "2");

        // Cell 2: a matplotlib chart, run with Shift+Enter.
        await fillCell(page, 1,
            "import matplotlib.pyplot as plt\nimport numpy as np\nx = np.linspace(0, 6.3, 100)\n"
            + "plt.plot(x, np.sin(x), label='sin')\nplt.plot(x, np.cos(x), label='cos')\nplt.legend()\nplt.title('From a session')\nplt.show()");
        await page.keyboard.press("Shift+Enter");
        const img = cells.nth(1).getByTestId("cell-image");
        await img.waitFor({ timeout: 60000 });
        await page.waitForFunction(() => {
            const i = document.querySelector('[data-testid="cell-image"]');
            return i && i.complete && i.naturalWidth > 0;
        }, null, { timeout: 10000 });
        assert.ok(await img.evaluate((i) => i.naturalWidth) > 0);
        assert.match(await img.getAttribute("src"), /^data:image\/png;base64,/);
        // Shift+Enter made a third cell and focused it.
        assert.equal(await cells.count(), 3);

        // Cell 3: HTML that would run a script if it were inserted into the page.
        await page.keyboard.insertText(
            "class H:\n    def _repr_html_(self):\n        return '<b>bold</b><img src=x onerror=\"document.title=\\'pwned\\'\">'\nH()");
        await cells.nth(2).getByTestId("cell-run").click();
        const frame = cells.nth(2).getByTestId("cell-html");
        await frame.waitFor({ timeout: 30000 });
        assert.equal(await frame.getAttribute("sandbox"), "");
        await page.waitForTimeout(500);
        assert.notEqual(await page.title(), "pwned");
        assert.match(await page.title(), /Sessions/);
        // Nothing of it became part of the page itself.
        assert.equal(await page.locator("main img[src='x']").count(), 0);
        // A traceback is shown as text.
        await page.getByTestId("cell-add").click();
        assert.equal(await cells.count(), 4);
        await page.keyboard.insertText("def f():\n    return 1/0\nf()");
        await page.keyboard.press("ControlOrMeta+Enter");
        const err = cells.nth(3).getByTestId("cell-error");
        await err.waitFor({ timeout: 30000 });
        assert.match(await err.innerText(), /ZeroDivisionError/);
        assert.match(await err.innerText(), /line 2, in f/);

        // docs/img: the session's header, the tabs, the first cells and the chart.
        await page.setViewportSize({ width: 1280, height: 1180 });
        await page.evaluate(() => window.scrollTo(0, 0));
        await screenshot(page, "ui-sessions.png");
        await page.setViewportSize({ width: 1280, height: 900 });
        // The sandboxed frame's blocked script is the browser's own report;
        // anything else is an error of the page.
        assert.deepEqual(pageErrors(page), []);
    });

    test("interrupts a running cell", async () => {
        const cells = page.getByTestId("cell");
        await page.getByTestId("cell-add").click();
        const n = await cells.count();
        await page.keyboard.insertText("import time\nprint('started', flush=True)\nfor i in range(600):\n    time.sleep(0.1)");
        await cells.nth(n - 1).getByTestId("cell-run").click();
        await cells.nth(n - 1).getByTestId("cell-stdout").waitFor({ timeout: 20000 });
        await page.getByTestId("notebook-interrupt").click();
        const err = cells.nth(n - 1).getByTestId("cell-error");
        await err.waitFor({ timeout: 20000 });
        assert.match(await err.innerText(), /KeyboardInterrupt/);
    });

    test("pauses and resumes the session", async () => {
        await page.getByTestId("session-pause").click();
        await page.waitForFunction(() => document.querySelector('[data-testid="session-pause"]').textContent === "Resume",
            null, { timeout: 30000 });
        assert.equal((await apiCall("GET", `/api/sandboxes/${sid}`)).json.state, "paused");
        await page.getByTestId("session-pause").click();
        await page.waitForFunction(() => document.querySelector('[data-testid="session-pause"]').textContent === "Pause",
            null, { timeout: 30000 });
        assert.equal((await apiCall("GET", `/api/sandboxes/${sid}`)).json.state, "running");
        // The files survived; the notebook goes on in a fresh interpreter.
        await page.getByTestId("tab-files").click();
        await page.getByTestId("file-refresh").click();
        await page.locator('[data-testid="file-row"][data-name="hello.txt"]').waitFor();
        await page.getByTestId("tab-notebook").click();
        const cells = page.getByTestId("cell");
        await fillCell(page, 0, "print('after', 40 + 2)");
        await cells.nth(0).getByTestId("cell-run").click();
        await page.waitForFunction(() =>
            document.querySelector('[data-testid="cell"] [data-testid="cell-output"]').innerText.trim() === "after 42",
        null, { timeout: 30000 });
        // And the terminal starts a new shell.
        await page.getByTestId("tab-terminal").click();
        await page.waitForFunction(() =>
            /ok/.test(document.querySelector('[data-testid="terminal-status"]').className), null, { timeout: 20000 });
        assert.deepEqual(pageErrors(page), []);
    });

    test("works at phone width in the dark theme", async () => {
        const p = await open(`/ui/sessions?id=${sid}&tab=files`, { viewport: { width: 375, height: 740 }, colorScheme: "dark" });
        await p.locator('[data-testid="file-row"][data-name="hello.txt"]').waitFor();
        const width = await p.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 375, `the page is ${width}px wide`);
        await p.getByTestId("tab-notebook").click();
        await p.getByTestId("cell").first().waitFor();
        assert.ok(await p.evaluate(() => document.documentElement.scrollWidth) <= 375);
        await p.goto(`${process.env.SOULBOX_URL}/ui/sessions`);
        assert.deepEqual(p.errors, []);
        await p.context().close();
    });

    test("deletes a session from the list after confirming", async () => {
        const r = await apiCall("POST", "/api/sandboxes", { template: "python", timeout_s: 300 });
        assert.equal(r.status, 201);
        const id = r.json.id;
        created.add(id);
        await page.getByTestId("session-back").click();
        const row = page.locator(`[data-testid="session-row"][data-session-id="${id}"]`);
        await row.waitFor();
        // Cancel keeps it.
        await row.getByTestId("session-delete").click();
        await page.getByTestId("confirm-cancel").click();
        assert.equal((await apiCall("GET", `/api/sandboxes/${id}`)).status, 200);
        await row.getByTestId("session-delete").click();
        await page.getByTestId("confirm-ok").click();
        await row.waitFor({ state: "detached" });
        assert.equal((await apiCall("GET", `/api/sandboxes/${id}`)).status, 404);
        created.delete(id);
        assert.deepEqual(pageErrors(page), []);
    });

    test("an unknown session says so", async () => {
        // The key stays in the tab's session storage.
        await page.goto(`${process.env.SOULBOX_URL}/ui/sessions?id=aaaaaaaaaaaaaaaaaaaa`);
        await page.getByTestId("session-gone").waitFor();
    });
});
