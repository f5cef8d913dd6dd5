// The dashboard's Prometheus text parser and histogram_quantile, under node
// alone (no server, no browser): node --test tests/ui/prom.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import {
    bucketDelta, histogram, increase, parse, parseSample, parseValue, quantile, sum, sumBy,
} from "../../ui/src/prom.js";

const TEXT = `# HELP soulbox_executions_total Executions finished, by language and status.
# TYPE soulbox_executions_total counter
soulbox_executions_total{language="python",status="ok"} 7
soulbox_executions_total{language="python",status="runtime_error"} 2
soulbox_executions_total{language="c",status="compile_error"} 1
soulbox_executions_total{language="we\\"ird\\\\lang\\nx",status="ok"} 3
# HELP soulbox_execution_duration_seconds Wall time of the run stage.
# TYPE soulbox_execution_duration_seconds histogram
soulbox_execution_duration_seconds_bucket{le="0.1"} 2
soulbox_execution_duration_seconds_bucket{le="0.5"} 6
soulbox_execution_duration_seconds_bucket{le="1"} 10
soulbox_execution_duration_seconds_bucket{le="+Inf"} 13
soulbox_execution_duration_seconds_sum 9.5
soulbox_execution_duration_seconds_count 13
# TYPE soulbox_queue_depth gauge
soulbox_queue_depth 4
soulbox_pool_hit_ratio{language="python",isolation="microvm",} NaN
weird_gauge{a="x y, z}"} -Inf 1700000000000
broken{a="unterminated} 1
also broken 1 2 3x
`;

test("parses samples, labels with escapes, types and help", () => {
    const p = parse(TEXT);
    assert.equal(p.types.soulbox_executions_total, "counter");
    assert.equal(p.types.soulbox_execution_duration_seconds, "histogram");
    assert.match(p.help.soulbox_executions_total, /by language and status/);
    const weird = p.samples.find((s) => s.labels.language && s.labels.language.startsWith("we"));
    assert.equal(weird.labels.language, 'we"ird\\lang\nx');
    assert.equal(weird.value, 3);
    const nan = p.samples.find((s) => s.name === "soulbox_pool_hit_ratio");
    assert.ok(Number.isNaN(nan.value));
    assert.deepEqual(nan.labels, { language: "python", isolation: "microvm" });
    const w = p.samples.find((s) => s.name === "weird_gauge");
    assert.equal(w.labels.a, "x y, z}");
    assert.equal(w.value, -Infinity);
    assert.equal(w.ts, 1700000000000);
    assert.equal(p.skipped, 2);
});

test("values: floats, exponents, NaN and infinities", () => {
    assert.equal(parseValue("1e3"), 1000);
    assert.equal(parseValue("-0.5"), -0.5);
    assert.equal(parseValue("+Inf"), Infinity);
    assert.equal(parseValue("-Inf"), -Infinity);
    assert.ok(Number.isNaN(parseValue("NaN")));
    assert.equal(parseValue("12abc"), undefined);
    assert.equal(parseSample("x"), null);
    assert.deepEqual(parseSample("up 1"), { name: "up", labels: {}, value: 1, ts: null });
});

test("sums and sums by label", () => {
    const { samples } = parse(TEXT);
    assert.equal(sum(samples, "soulbox_executions_total"), 13);
    assert.equal(sum(samples, "soulbox_executions_total", { status: "ok" }), 10);
    assert.deepEqual(sumBy(samples, "soulbox_executions_total", "status"),
        { ok: 10, runtime_error: 2, compile_error: 1 });
    assert.equal(sum(samples, "no_such_metric"), null);
    assert.equal(sum(samples, "soulbox_queue_depth"), 4);
});

test("histogram and histogram_quantile (linear interpolation like Prometheus)", () => {
    const { samples } = parse(TEXT);
    const h = histogram(samples, "soulbox_execution_duration_seconds");
    assert.equal(h.count, 13);
    assert.equal(h.sum, 9.5);
    assert.deepEqual(h.buckets.map((b) => b.le), [0.1, 0.5, 1, Infinity]);
    // rank 6.5 falls in (0.5, 1] holding 4 (6..10): 0.5 + 0.5 * 0.5/4
    assert.ok(Math.abs(quantile(0.5, h.buckets) - 0.5625) < 1e-12);
    // rank 1.3 in the first bucket: from 0
    assert.ok(Math.abs(quantile(0.1, h.buckets) - 0.065) < 1e-12);
    // rank 12.87 in +Inf: the highest finite bound
    assert.equal(quantile(0.99, h.buckets), 1);
    assert.ok(Number.isNaN(quantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])));
    assert.ok(Number.isNaN(quantile(0.5, [{ le: 1, count: 3 }])));
    assert.equal(quantile(-1, h.buckets), -Infinity);
    assert.equal(quantile(2, h.buckets), Infinity);
});

test("deltas between scrapes, with counter resets", () => {
    assert.equal(increase(10, 13), 3);
    assert.equal(increase(10, 4), 4);      // restarted
    assert.equal(increase(null, 4), null);
    const a = [{ le: 0.1, count: 1 }, { le: 1, count: 2 }, { le: Infinity, count: 2 }];
    const b = [{ le: 0.1, count: 1 }, { le: 1, count: 5 }, { le: Infinity, count: 6 }];
    const d = bucketDelta(a, b);
    assert.deepEqual(d.map((x) => x.count), [0, 3, 4]);
    // 4 new observations: rank 2 is the 2nd of 3 in (0.1, 1]
    assert.ok(Math.abs(quantile(0.5, d) - (0.1 + 0.9 * (2 / 3))) < 1e-12);
    assert.deepEqual(bucketDelta(b, a).map((x) => x.count), [1, 2, 2]);   // reset
    assert.equal(bucketDelta(a, b.slice(1)), null);
});
