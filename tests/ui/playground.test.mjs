// The playground (/) in Chromium: languages, output streamed, interactive
// stdin, Stop, compile errors, test-case verdicts, several files, share links,
// keyboard, themes, phone width, auth and overload messages, accessibility.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { apiCall, closeBrowser, enterKey, open, OTHER_KEY, screenshot, setEditor } from "./lib.mjs";

after(closeBrowser);

const T = { timeout: 60000 };

async function ready(page) {
    await page.waitForFunction(() => {
        const s = document.querySelector('[data-testid="language-select"]');
        return s && s.options.length > 0 && document.querySelector('[data-testid="editor"] .cm-content');
    });
}

async function pick(page, language) {
    await page.getByTestId("language-select").selectOption(language);
}

// Waits for the run to end (Run enabled again) and returns what the page shows.
async function finished(page, timeout = 30000) {
    await page.waitForFunction(() => document.querySelector("main").dataset.running === "false" &&
        document.querySelector('[data-testid="status"]').textContent !== "", null, { timeout });
    const text = (id) => page.getByTestId(id).textContent();
    return {
        status: await text("status"),
        statusCode: await page.getByTestId("status").getAttribute("data-status"),
        stdout: await text("stdout"),
        stderr: await text("stderr"),
        exit: await text("exit-code"),
    };
}

async function runCode(page, language, code) {
    await pick(page, language);
    await setEditor(page, code);
    await page.getByTestId("run").click();
    return finished(page, 60000);
}

describe("playground", () => {
    test("the language select lists the API's languages by their names", T, async () => {
        const page = await open("/");
        await ready(page);
        const values = await page.getByTestId("language-select").locator("option").evaluateAll(
            (os) => os.map((o) => o.value));
        const api = (await apiCall("GET", "/api/languages")).json.languages.map((l) => l.name).sort();
        assert.deepEqual([...values].sort(), api);
        assert.ok(values.includes("python") && values.includes("c") && values.includes("javascript"));
        assert.deepEqual(page.errors, []);
        await page.context().close();
    });

    test("hello world in python, c and javascript, output read from the page", T, async () => {
        const page = await open("/");
        await ready(page);
        const programs = {
            python: 'import sys\nprint("Hello from python", 6 * 7)\nprint("to stderr", file=sys.stderr)\n',
            c: '#include <stdio.h>\nint main(void) {\n    printf("Hello from c %d\\n", 6 * 7);\n    fprintf(stderr, "to stderr\\n");\n    return 0;\n}\n',
            javascript: 'console.log("Hello from javascript", 6 * 7);\nconsole.error("to stderr");\n',
        };
        for (const [language, code] of Object.entries(programs)) {
            const r = await runCode(page, language, code);
            assert.equal(r.stdout, `Hello from ${language} 42\n`, language);
            assert.equal(r.stderr, "to stderr\n", language);
            assert.equal(r.status, "Finished", language);
            assert.equal(r.statusCode, "ok");
            assert.equal(r.exit, "exit code 0");
            assert.match(await page.getByTestId("time").textContent(), /^\d+ ms wall, \d+ ms CPU$/);
            assert.match(await page.getByTestId("memory").textContent(), /^\d+\.\d MiB peak$/);
        }
        await screenshot(page, "ui-playground.png");
        assert.deepEqual(page.errors, []);
        await page.context().close();
    });

    test("output is streamed while the program runs", T, async () => {
        const page = await open("/");
        await ready(page);
        await pick(page, "python");
        await setEditor(page, 'import time\nprint("first", flush=True)\ntime.sleep(1.5)\nprint("second")\n');
        await page.getByTestId("run").click();
        await page.waitForFunction(() => document.querySelector('[data-testid="stdout"]').textContent === "first\n");
        assert.equal(await page.getByTestId("status").textContent(), "Running…");
        const r = await finished(page);
        assert.equal(r.stdout, "first\nsecond\n");
        await page.context().close();
    });

    test("interactive stdin: typed while the program runs", T, async () => {
        const page = await open("/");
        await ready(page);
        await pick(page, "python");
        await setEditor(page, 'name = input("Name? ")\nprint("Hello, " + name + "!")\nprint("again:", input())\n');
        await page.getByTestId("interactive").check();
        await page.getByTestId("run").click();
        await page.waitForFunction(() => document.querySelector('[data-testid="stdout"]').textContent === "Name? ");
        await page.getByTestId("stdin-live").fill("Ada");
        await page.getByTestId("stdin-live").press("Enter");
        await page.waitForFunction(() => document.querySelector('[data-testid="stdout"]').textContent.includes("Hello, Ada!"));
        await page.getByTestId("stdin-live").fill("Lovelace");
        await page.getByTestId("stdin-send").click();
        const r = await finished(page);
        assert.equal(r.stdout, "Name? Hello, Ada!\nagain: Lovelace\n");
        assert.equal(r.statusCode, "ok");
        await page.context().close();
    });

    test("stdin given up front, and closed for a program reading to the end", T, async () => {
        const page = await open("/");
        await ready(page);
        await pick(page, "python");
        await setEditor(page, 'import sys\ndata = sys.stdin.read()\nprint(len(data.split()), "words")\n');
        await page.getByTestId("stdin").fill("one two\nthree\n");
        await page.getByTestId("run").click();
        const r = await finished(page);
        assert.equal(r.stdout, "3 words\n");
        await page.context().close();
    });

    test("Stop ends a runaway loop at once", T, async () => {
        const page = await open("/");
        await ready(page);
        await pick(page, "python");
        await setEditor(page, 'print("spinning", flush=True)\nwhile True:\n    pass\n');
        await page.getByTestId("limit-wall").fill("60000");
        await page.getByTestId("run").click();
        await page.waitForFunction(() => document.querySelector('[data-testid="stdout"]').textContent === "spinning\n");
        assert.equal(await page.getByTestId("stop").isEnabled(), true);
        const t0 = Date.now();
        await page.getByTestId("stop").click();
        const r = await finished(page, 15000);
        assert.ok(Date.now() - t0 < 10000, "stopped long before its 60 s limit");
        assert.equal(r.statusCode, "runtime_error");
        assert.match(r.status, /^Runtime error: .*killed on request/);
        assert.equal(r.exit, "signal 9");
        assert.equal(await page.getByTestId("run").isEnabled(), true);
        await page.context().close();
    });

    test("a limit breach is shown in words", T, async () => {
        const page = await open("/");
        await ready(page);
        await pick(page, "python");
        await setEditor(page, "while True:\n    pass\n");
        await page.getByTestId("limit-wall").fill("500");
        await page.getByTestId("run").click();
        const r = await finished(page);
        assert.equal(r.statusCode, "time_limit_exceeded");
        assert.match(r.status, /^Time limit exceeded/);
        await page.context().close();
    });

    test("a compile error is shown with the compiler's message", T, async () => {
        const page = await open("/");
        await ready(page);
        const r = await runCode(page, "c", "int main(void) {\n    return missing_identifier;\n}\n");
        assert.equal(r.statusCode, "compile_error");
        assert.match(r.status, /^Compile error/);
        const compiler = await page.getByTestId("compile-output").textContent();
        assert.match(compiler, /missing_identifier/);
        assert.match(compiler, /error/);
        assert.equal(await page.getByTestId("compile-output").isVisible(), true);
        await page.context().close();
    });

    test("test cases get a verdict each", T, async () => {
        const page = await open("/");
        await ready(page);
        await pick(page, "python");
        await setEditor(page, "print(input()[::-1])\n");
        const cases = [["abc\n", "cba\n"], ["xy\n", "zz\n"], ["racecar\n", "racecar\n"]];
        for (const [i, [stdin, expected]] of cases.entries()) {
            await page.getByTestId("case-add").click();
            await page.getByTestId("case-stdin").nth(i).fill(stdin);
            await page.getByTestId("case-expected").nth(i).fill(expected);
        }
        await page.getByTestId("run-tests").click();
        await finished(page, 60000);
        const verdicts = await page.getByTestId("case-verdict").evaluateAll(
            (ls) => ls.map((l) => l.dataset.verdict));
        assert.deepEqual(verdicts, ["accepted", "wrong_answer", "accepted"]);
        assert.equal(await page.getByTestId("case-summary").textContent(), "2 of 3 cases accepted");
        assert.match(await page.getByTestId("case-verdict").nth(1).textContent(), /got: yx/);
        assert.match(await page.getByTestId("status").textContent(), /^2\/3 accepted/);
        await page.context().close();
    });

    test("a project of several files: the first is the entry point", T, async () => {
        const page = await open("/");
        await ready(page);
        await pick(page, "python");
        await setEditor(page, "import helper\nprint(helper.greet())\n");
        await page.getByTestId("file-add").click();
        await page.getByTestId("file-name").fill("helper.py");
        await page.getByTestId("file-name").press("Enter");
        await setEditor(page, 'def greet():\n    return "from helper.py"\n');
        const tabs = await page.getByTestId("file-tab").evaluateAll((ts) => ts.map((t) => t.dataset.name));
        assert.deepEqual(tabs, ["main.py", "helper.py"]);
        await page.getByTestId("run").click();
        const r = await finished(page);
        assert.equal(r.stdout, "from helper.py\n");
        // the entry file's tab shows its code again
        await page.getByTestId("file-tab").first().click();
        assert.match(await page.getByTestId("editor").locator(".cm-content").textContent(), /import helper/);
        await page.context().close();
    });

    test("Ctrl+Enter in the editor runs", T, async () => {
        const page = await open("/");
        await ready(page);
        await pick(page, "javascript");
        await setEditor(page, 'console.log("by keyboard");\n');
        await page.keyboard.press("Control+Enter");
        const r = await finished(page);
        assert.equal(r.stdout, "by keyboard\n");
        await page.context().close();
    });

    test("a share link reopens the code and its result, for another key too", T, async () => {
        const page = await open("/");
        await ready(page);
        const code = 'import sys\nprint("shared", sys.argv[1:], input())\n';
        await pick(page, "python");
        await setEditor(page, code);
        await page.getByTestId("stdin").fill("from stdin\n");
        await page.getByTestId("args").fill('one "two words"');
        await page.getByTestId("run").click();
        const r = await finished(page);
        assert.equal(r.stdout, "shared ['one', 'two words'] from stdin\n");
        await page.getByTestId("share").click();
        await page.getByTestId("share-link").waitFor({ state: "visible" });
        const link = await page.getByTestId("share-link").inputValue();
        assert.match(link, /\/\?share=[A-Za-z0-9_-]{22,}$/);
        await page.context().close();

        const other = await open(new URL(link).pathname + new URL(link).search, { key: OTHER_KEY });
        await other.waitForFunction(() => document.querySelector('[data-testid="stdout"]').textContent !== "");
        assert.equal(await other.getByTestId("stdout").textContent(), "shared ['one', 'two words'] from stdin\n");
        assert.equal(await other.getByTestId("status").textContent(), "Finished");
        assert.equal(await other.getByTestId("language-select").inputValue(), "python");
        assert.equal(await other.getByTestId("stdin").inputValue(), "from stdin\n");
        assert.equal(await other.getByTestId("args").inputValue(), 'one "two words"');
        const shown = await other.getByTestId("editor").locator(".cm-line").allTextContents();
        assert.equal(shown.join("\n"), code);
        assert.equal(await other.getByTestId("shared-note").isVisible(), true);
        await screenshot(other, "ui-share.png");
        // running the shared copy works as usual
        await other.getByTestId("run").click();
        const again = await finished(other);
        assert.equal(again.stdout, "shared ['one', 'two words'] from stdin\n");
        assert.deepEqual(other.errors, []);
        await other.context().close();
    });

    test("attack: a program's output is shown as text, never as HTML", T, async () => {
        const page = await open("/");
        await ready(page);
        const evil = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`;
        await pick(page, "python");
        await setEditor(page, `import sys\nprint(${JSON.stringify(evil)})\nprint(${JSON.stringify(evil)}, file=sys.stderr)\n`);
        await page.getByTestId("run").click();
        const r = await finished(page);
        assert.equal(r.stdout, evil + "\n");
        assert.equal(r.stderr, evil + "\n");
        await page.waitForTimeout(300);
        assert.equal(await page.title(), "Playground · SoulBox");
        assert.equal(await page.locator('[data-testid="stdout"] img, [data-testid="stderr"] img, main script').count(), 0);
        // shared, the same code and output open as text for someone else
        await page.getByTestId("share").click();
        await page.getByTestId("share-link").waitFor({ state: "visible" });
        const link = await page.getByTestId("share-link").inputValue();
        const other = await open(new URL(link).pathname + new URL(link).search, { key: OTHER_KEY });
        await other.waitForFunction(() => document.querySelector('[data-testid="stdout"]').textContent !== "");
        assert.equal(await other.getByTestId("stdout").textContent(), evil + "\n");
        await other.waitForTimeout(300);
        assert.equal(await other.title(), "Playground · SoulBox");
        assert.equal(await other.locator("main img, main script").count(), 0);
        assert.deepEqual(page.errors, []);
        assert.deepEqual(other.errors, []);
        await page.context().close();
        await other.context().close();
    });

    test("an unknown share link says so", T, async () => {
        const page = await open("/?share=AAAAAAAAAAAAAAAAAAAAAAAA");
        await page.waitForFunction(() => /share link does not exist/.test(
            document.querySelector('[data-testid="banner-text"]').textContent));
        assert.equal(await page.getByTestId("banner").isVisible(), true);
        await page.context().close();
    });
});

describe("auth and overload", () => {
    test("without a key: the dialog opens and the message says a key is needed", T, async () => {
        const page = await open("/", { key: null });
        await page.locator("#key-dialog[open]").waitFor();
        assert.match(await page.getByTestId("banner-text").textContent(), /needs an API key/);
        await page.getByTestId("api-key-input").fill("not-a-valid-key-at-all");
        await page.getByTestId("api-key-save").click();
        await page.locator("#key-dialog[open]").waitFor();
        assert.match(await page.getByTestId("banner-text").textContent(), /API key was refused/);
        await page.getByTestId("api-key-input").fill(process.env.SOULBOX_API_KEY);
        await page.getByTestId("api-key-save").click();
        await ready(page);
        assert.equal(await page.getByTestId("banner").isVisible(), false);
        // kept in this tab's session storage, not in local storage
        assert.equal(await page.evaluate(() => sessionStorage.getItem("soulbox.apiKey")), process.env.SOULBOX_API_KEY);
        assert.equal(await page.evaluate(() => JSON.stringify(localStorage).includes(sessionStorage.getItem("soulbox.apiKey"))), false);
        await page.reload();
        await ready(page);
        assert.equal(await page.locator("#key-dialog[open]").count(), 0);
        await page.context().close();
    });

    for (const [status, retry, pattern] of [[429, "7", /Too many requests: .*Try again in 7 s/],
        [503, "3", /cannot take this now: .*Try again in 3 s/]]) {
        test(`a ${status} answer is explained with its Retry-After`, T, async () => {
            const page = await open("/", { key: null });
            await page.route("**/api/languages", (route) => route.fulfill({
                status, headers: { "Content-Type": "application/json", "Retry-After": retry },
                body: JSON.stringify({ error: { code: status === 429 ? "rate_limited" : "unavailable", message: "busy here" } }),
            }));
            await enterKey(page, process.env.SOULBOX_API_KEY);
            await page.waitForFunction((st) => document.querySelector('[data-testid="banner"]').dataset.status === st,
                String(status));
            assert.match(await page.getByTestId("banner-text").textContent(), pattern);
            assert.equal(await page.getByTestId("banner").getAttribute("data-status"), String(status));
            await page.context().close();
        });
    }
});

describe("accessibility, themes and small screens", () => {
    test("every control has a name and the page works by keyboard", T, async () => {
        const page = await open("/");
        await ready(page);
        const unnamed = await page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button")]
            .filter((e) => e.offsetParent !== null)
            .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") &&
                !e.getAttribute("aria-labelledby") && !(e.tagName === "BUTTON" && e.textContent.trim()))
            .map((e) => e.outerHTML.slice(0, 80)));
        assert.deepEqual(unnamed, []);
        // Tab from the top reaches the language select and Run, in that order
        await page.locator("body").focus();
        const seen = [];
        for (let i = 0; i < 25 && !seen.includes("run"); i++) {
            await page.keyboard.press("Tab");
            seen.push(await page.evaluate(() => document.activeElement.dataset.testid || document.activeElement.tagName));
        }
        assert.ok(seen.indexOf("language-select") >= 0 && seen.indexOf("language-select") < seen.indexOf("run"), seen.join(","));
        await pick(page, "python");
        await setEditor(page, 'print("keyboard only")\n');
        await page.getByTestId("run").focus();
        await page.keyboard.press("Enter");
        assert.equal((await finished(page)).stdout, "keyboard only\n");
        await page.context().close();
    });

    test("text contrast is at least 4.5:1 in both themes", T, async () => {
        const page = await open("/");
        await ready(page);
        await pick(page, "python");
        await setEditor(page, 'import sys\nprint("out")\nprint("err", file=sys.stderr)\n');
        await page.getByTestId("run").click();
        await finished(page);
        for (const theme of ["light", "dark"]) {
            if (await page.evaluate(() => document.documentElement.dataset.theme) !== theme)
                await page.getByTestId("theme-toggle").click();
            const low = await page.evaluate(() => {
                const rgb = (s) => s.match(/[\d.]+/g).slice(0, 4).map(Number);
                const lum = ([r, g, b]) => {
                    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
                    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
                };
                const bg = (e) => {
                    for (; e; e = e.parentElement) {
                        const c = rgb(getComputedStyle(e).backgroundColor);
                        if (c.length < 4 || c[3] > 0) return c;
                    }
                    return [255, 255, 255];
                };
                const out = [];
                const sel = 'label, button, [data-testid="status"], [data-testid="stdout"], [data-testid="stderr"], ' +
                    ".muted, h2, h3, .topbar a, .file-tab";
                for (const e of document.querySelectorAll(sel)) {
                    if (e.offsetParent === null || !e.textContent.trim() || e.disabled) continue;
                    const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));
                    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                    if (ratio < 4.5) out.push(`${e.dataset.testid || e.className || e.tagName}: ${ratio.toFixed(2)}`);
                }
                return out;
            });
            assert.deepEqual(low, [], theme);
            assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme);
            if (theme === "dark") await screenshot(page, "ui-playground-dark.png");
        }
        await page.context().close();
    });

    test("usable at phone width: nothing wider than the screen, Run works", T, async () => {
        const page = await open("/", { viewport: { width: 375, height: 800 } });
        await ready(page);
        await pick(page, "python");
        await setEditor(page, 'print("small screen")\n');
        await page.getByTestId("run").click();
        assert.equal((await finished(page)).stdout, "small screen\n");
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 375, `page is ${width} px wide`);
        for (const id of ["language-select", "run", "stop", "editor", "stdin", "stdout", "stderr", "status"]) {
            const box = await page.getByTestId(id).boundingBox();
            assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `${id} fits`);
        }
        await screenshot(page, "ui-phone.png");
        await page.context().close();
    });
});
