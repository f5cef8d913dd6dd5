// The operator dashboard (/ui/admin) in Chromium against a real server:
// live totals, the audit log and its filter, the admin-key gate, languages,
// screenshots in both themes and at phone width.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_KEY, KEY, apiCall, closeBrowser, open, screenshot } from "./lib.mjs";

after(closeBrowser);

async function total(page) {
    const t = (await page.getByTestId("metric-executions-total").textContent()).trim();
    return /^\d+$/.test(t) ? Number(t) : NaN;
}

async function until(what, fn, ms = 10000) {
    const end = Date.now() + ms;
    let last;
    while (Date.now() < end) {
        last = await fn();
        if (last) return last;
        await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

test("admin key: live totals, audit log with a filter, languages, screenshots", async () => {
    assert.ok(ADMIN_KEY, "SOULBOX_TEST_ADMIN_KEY");
    const page = await open("/ui/admin", { key: ADMIN_KEY });
    await page.getByTestId("admin-dashboard").waitFor();
    const before = await until("a first total", async () => {
        const n = await total(page);
        return Number.isFinite(n) ? { n } : null;
    });
    for (let i = 0; i < 3; i++) {
        const r = await apiCall("POST", "/api/execute", { language: "python", code: "print(1)" });
        assert.equal(r.status, 200, r.text);
    }
    const grown = await until("the total to grow by 3", async () => {
        const n = await total(page);
        return n >= before.n + 3 ? { n } : null;
    }, 8000);
    assert.ok(grown.n >= before.n + 3);
    for (const id of ["metric-executions-rate", "metric-latency-p50", "metric-queue",
        "metric-active-sandboxes", "metric-sessions-live", "metric-uptime", "metric-version",
        "metric-cgroup", "metric-store", "chart-executions", "chart-latency", "errors-by-status",
        "pool-table"])
        assert.ok(await page.getByTestId(id).isVisible(), `${id} visible`);
    const svg = page.getByTestId("chart-executions").locator("svg[role=img]");
    assert.match(await svg.getAttribute("aria-label"), /Latest: /);
    // the three runs fill the latency histogram: a p50 in ms or s
    await until("a p50", async () => /\d.*(ms|s)$/.test((await page.getByTestId("metric-latency-p50").textContent()).trim()));

    // the audit log: the executions are there (refreshed automatically, or on Apply)
    assert.equal(await page.getByTestId("admin-denied").isVisible(), false);
    await page.getByTestId("audit-table").waitFor();
    await until("an execution audit row", async () => {
        const events = await page.getByTestId("audit-row").evaluateAll((rows) => rows.map((r) => r.dataset.event));
        if (events.includes("execution")) return true;
        await page.getByTestId("audit-apply").click();
        return false;
    });
    // a refused key adds another event, so the filter has something to remove
    await apiCall("GET", "/api/languages", null, "not-a-key");
    await page.getByTestId("audit-filter-event").fill("execution");
    await page.getByTestId("audit-apply").click();
    await until("only execution rows", async () => {
        const events = await page.getByTestId("audit-row").evaluateAll((rows) => rows.map((r) => r.dataset.event));
        return events.length > 0 && events.every((e) => e === "execution") ? events : null;
    });
    const cells = await page.getByTestId("audit-row").first().locator("td").allTextContents();
    assert.equal(cells[1], "execution");
    assert.equal(cells[4], "python");
    assert.match(page.url(), /event=execution/);

    // a time filter in the future matches nothing
    const tomorrow = new Date(Date.now() + 86400000 - new Date().getTimezoneOffset() * 60000)
        .toISOString().slice(0, 19);
    await page.getByTestId("audit-filter-since").fill(tomorrow);
    await page.getByTestId("audit-apply").click();
    await until("no rows after tomorrow", async () => (await page.getByTestId("audit-row").count()) === 0 &&
        /No audit records match/.test(await page.getByTestId("audit-status").textContent()));
    await page.getByTestId("audit-filter-since").fill("");

    // languages
    const avail = page.getByTestId("languages-available");
    await until("python available", async () => (await avail.locator("li[data-language=python]").count()) === 1);
    assert.match(await avail.locator("li[data-language=python]").textContent(), /python\s+\S*\d/);
    assert.ok(await page.getByTestId("languages-unavailable").isVisible());

    // screenshots: light, dark (after the charts have a few points)
    await page.getByTestId("audit-filter-event").fill("");
    await page.getByTestId("audit-apply").click();
    for (const code of ["print(2)", "raise SystemExit(3)", "import time; time.sleep(0.2)"])
        await apiCall("POST", "/api/execute", { language: "python", code });
    await until("the runtime_error counted", async () =>
        (await page.locator('[data-testid=error-row][data-key=runtime_error] td').first().textContent()) === "1");
    await page.waitForTimeout(2500);
    await page.evaluate(() => { document.activeElement.blur(); window.scrollTo(0, 0); });
    await screenshot(page, "ui-admin.png");
    await page.getByTestId("theme-toggle").click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.evaluate(() => { document.activeElement.blur(); window.scrollTo(0, 0); });
    await page.waitForTimeout(300);
    await screenshot(page, "ui-admin-dark.png");
    assert.deepEqual(page.errors, []);
    await page.context().close();
});

test("audit paging: Older follows next_cursor", async () => {
    for (let i = 0; i < 2; i++)        // with the first test's 3: more than two pages of 2
        assert.equal((await apiCall("POST", "/api/execute", { language: "python", code: "print(2)" })).status, 200);
    const page = await open("/ui/admin?limit=2&event=execution", { key: ADMIN_KEY });
    await until("a first page of 2", async () => (await page.getByTestId("audit-row").count()) === 2);
    assert.equal(await page.getByTestId("audit-filter-event").inputValue(), "execution");
    const seqs = async () => page.getByTestId("audit-row").evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq)));
    const first = await seqs();
    await page.getByTestId("audit-more").click();
    await until("a second page", async () => (await page.getByTestId("audit-row").count()) === 4);
    const all = await seqs();
    assert.deepEqual(all.slice(0, 2), first);
    assert.ok(all.every((s, i) => i === 0 || s < all[i - 1]), `newest first: ${all}`);
    assert.deepEqual(page.errors, []);
    await page.context().close();
});

test("polling pauses while the tab is hidden and stops when the view is left", async () => {
    const page = await open("/ui/admin", { key: ADMIN_KEY });
    let scrapes = 0;
    page.on("request", (r) => { if (r.url().endsWith("/metrics")) scrapes++; });
    await until("a scrape", async () => scrapes > 0);
    await page.evaluate(() => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
        document.dispatchEvent(new Event("visibilitychange"));
    });
    assert.match(await page.getByTestId("admin-poll-status").textContent(), /Paused/);
    await page.waitForTimeout(300);
    const paused = scrapes;
    await page.waitForTimeout(4500);
    assert.equal(scrapes, paused, "no scrape while hidden");
    await page.evaluate(() => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
        document.dispatchEvent(new Event("visibilitychange"));
    });
    await until("scrapes again", async () => scrapes > paused);
    await page.getByTestId("nav-playground").click();
    await page.waitForTimeout(300);
    const left = scrapes;
    await page.waitForTimeout(4500);
    assert.equal(scrapes, left, "no scrape after leaving the view");
    assert.deepEqual(page.errors, []);
    await page.context().close();
});

test("a user key sees the admin-key message, not the audit log", async () => {
    const page = await open("/ui/admin", { key: KEY });
    const denied = page.getByTestId("admin-denied");
    // the key is entered after the page opened: wait for the answer to it (403)
    await until("the not-admin message", async () =>
        (await denied.isVisible()) && /not an admin key/i.test(await denied.textContent()));
    assert.match(await denied.textContent(), /needs? an admin (API )?key/i);
    assert.equal(await page.getByTestId("audit-table").isVisible(), false);
    assert.equal(await page.getByTestId("audit-row").count(), 0);
    // what a user key may read still shows: public metrics, languages
    await until("a total", async () => /^\d+$/.test((await page.getByTestId("metric-executions-total").textContent()).trim()));
    await until("python available", async () =>
        (await page.getByTestId("languages-available").locator("li[data-language=python]").count()) === 1);
    assert.deepEqual(page.errors, []);
    await page.context().close();
});

test("no key: the message, and the page works at 375 px", async () => {
    const page = await open("/ui/admin", { key: null, viewport: { width: 375, height: 800 } });
    const denied = page.getByTestId("admin-denied");
    await denied.waitFor({ state: "visible" });
    assert.match(await denied.textContent(), /admin (API )?key/i);
    assert.equal(await page.getByTestId("audit-table").isVisible(), false);
    await until("a total", async () => /^\d+$/.test((await page.getByTestId("metric-executions-total").textContent()).trim()));
    // nothing wider than the screen (tables scroll inside their own box)
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 375, `page is ${wide}px wide at 375`);
    const a = await page.getByTestId("chart-executions").boundingBox();
    const b = await page.getByTestId("chart-latency").boundingBox();
    assert.ok(b.y >= a.y + a.height - 1, "charts stacked");
    // without a key nothing keyed was asked for; asking anyway meets this server's keys
    await page.getByTestId("admin-try-without-key").click();
    await until("the refusal", async () => (await page.getByTestId("admin-try-without-key").count()) === 0);
    assert.ok(await denied.isVisible());
    assert.equal(await page.getByTestId("audit-table").isVisible(), false);
    assert.deepEqual(page.errors, []);
    await page.context().close();
});
