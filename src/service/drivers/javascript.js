// SoulBox javascript context driver: a persistent vm context that runs cells.
// Requests arrive on stdin, one JSON object per line: {"id", "code", "env"};
// events leave on stdout, one JSON object per line (see python.py).
'use strict';
const vm = require('vm');
const util = require('util');
const readline = require('readline');
const fs = require('fs');

const out = fs.openSync('/dev/stdout', 'w');
let cur = 0;
let count = 0;
const emit = (ev) => fs.writeSync(1, JSON.stringify(ev) + '\n');
const text = (args) => args.map((a) => (typeof a === 'string' ? a : util.inspect(a))).join(' ') + '\n';
const logTo = (name) => (...args) => emit({ id: cur, type: name, text: text(args) });
const cellConsole = {
    log: logTo('stdout'), info: logTo('stdout'), debug: logTo('stdout'),
    warn: logTo('stderr'), error: logTo('stderr'), trace: logTo('stderr'),
    dir: (o) => emit({ id: cur, type: 'stdout', text: util.inspect(o) + '\n' }),
    table: logTo('stdout'),
};
const sandbox = {
    console: cellConsole, require, process, Buffer, setTimeout, clearTimeout, setInterval,
    clearInterval, setImmediate, clearImmediate, URL, URLSearchParams, TextEncoder, TextDecoder,
    structuredClone, fetch: globalThis.fetch, module: { exports: {} },
};
sandbox.globalThis = sandbox;
const context = vm.createContext(sandbox);
void out;

function formats(value) {
    const data = { 'text/plain': util.inspect(value, { depth: 4 }) };
    if (value !== null && typeof value === 'object') {
        try {
            data['application/json'] = JSON.parse(JSON.stringify(value));
        } catch (e) { /* not JSON */ }
    }
    return data;
}

function error(e) {
    // errors made in the cell's context are not instances of this realm's Object
    if (e === null || typeof e !== 'object' || !('stack' in e)) {
        emit({ id: cur, type: 'error', name: 'Error', value: String(e), traceback: String(e) });
        return;
    }
    const stack = String(e.stack).split('\n')
        .filter((l) => !(l.trim().startsWith('at ') && !/cell-\d+/.test(l)))
        .join('\n');
    emit({ id: cur, type: 'error', name: e.name || 'Error', value: e.message || String(e),
           traceback: stack });
}

async function run(req) {
    count += 1;
    const saved = {};
    for (const [k, v] of Object.entries(req.env || {})) {
        saved[k] = process.env[k];
        process.env[k] = String(v);
    }
    try {
        let code = req.code || '';
        let value;
        const script = (() => {
            try {
                return new vm.Script(code, { filename: `cell-${count}` });
            } catch (e) {
                if (e instanceof SyntaxError && /await/.test(code)) return null;
                throw e;
            }
        })();
        if (script) {
            value = script.runInContext(context, { breakOnSigint: true });
        } else {
            // top-level await: a single expression keeps its value; other
            // cells run as the body of an async function (their let and
            // const stay local to the cell; assign to globalThis to keep them)
            let wrapped;
            try {
                wrapped = new vm.Script(`(async () => (\n${code}\n))()`, { filename: `cell-${count}` });
            } catch (e) {
                wrapped = new vm.Script(`(async () => {\n${code}\n})()`, { filename: `cell-${count}` });
            }
            value = wrapped.runInContext(context, { breakOnSigint: true });
        }
        if (value && typeof value.then === 'function') value = await value;
        if (value !== undefined) {
            emit({ id: cur, type: 'result', data: formats(value), main: true });
        }
    } catch (e) {
        error(e);
    } finally {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}

process.on('SIGINT', () => {});
const queue = [];
let busy = false;
async function next() {
    if (busy) return;
    busy = true;
    while (queue.length) {
        const req = queue.shift();
        cur = req.id || 0;
        await run(req);
        emit({ id: cur, type: 'end', execution_count: count });
    }
    busy = false;
}
readline.createInterface({ input: process.stdin }).on('line', (line) => {
    let req;
    try {
        req = JSON.parse(line);
    } catch (e) {
        return;
    }
    queue.push(req);
    next();
});
emit({ type: 'ready', pid: process.pid });
