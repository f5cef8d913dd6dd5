// SoulBox javascript function runtime: loads a serverless function's module
// and runs its handler for the invocations that arrive on stdin.
//
//   node __soulbox_fn__.cjs once|loop MODULE_FILE FUNCTION [CONCURRENCY]
//
// Protocol: one line of compact JSON per message. Messages leave on a private
// copy of the original stdout; fd 1 itself becomes a copy of fd 2, so stray
// output (native code, child processes, fs.writeSync(1)) never corrupts them.
//   out {"type":"init_error","error":{"type","message","stack"}}, then exit 1
//       (syntax error, exception at import, missing or non-callable FUNCTION)
//   out {"type":"ready"}                          loop mode, once loaded
//   in  {"id","event","context":{"function_name","function_version",
//        "request_id","deadline_ms","memory_limit_mb"}}
//   out {"type":"response","id","ok":true,"value","bytes","logs"}
//   out {"type":"response","id","ok":false,"error":{"type","message","stack"},"logs"}
//   out {"type":"response","id","ok":false,"error":{"type":"ProtocolError","message"}}
// once: exactly one invocation, then exit 0. loop: invocations until stdin's
// EOF, then exit 0; up to CONCURRENCY (1..64, default 1) at once, answered in
// any order (by id). A Buffer / Uint8Array returned is sent as base64 with
// "bytes":true; an object whose "body" is one gets a base64 body and
// "is_base64":true. A handler calling process.exit(N) is answered as a
// SystemExit error, then the runtime exits N. "logs" is what the invocation
// wrote through console and process.stdout/stderr, at most 64 KiB.
// MODULE_FILE is loaded with import(): .mjs as ESM, .js/.cjs as CommonJS
// (the handler is then found on module.exports too).
'use strict';
const fs = require('fs');
const path = require('path');

const LOG_LIMIT = 65536;
const USAGE = 'usage: node __soulbox_fn__.cjs once|loop MODULE_FILE FUNCTION [CONCURRENCY]';
const writeSync = fs.writeSync;
const realExit = process.exit.bind(process);

/* ---- file descriptors: node has no dup(), so they are reopened through
 * /proc, which works for pipes and terminals (not for sockets: then only
 * JavaScript's writes to fd 1 are sent to stderr) ---- */

function reopenable(fd) {
    try {
        const st = fs.fstatSync(fd);
        return st.isFIFO() || st.isCharacterDevice();
    } catch (e) {
        return false;
    }
}

/* The protocol's fd; fd 1 becomes a copy of fd 2. */
function plumbStdout() {
    if (!reopenable(1) || !reopenable(2)) return 1;
    let fd;
    try {
        fd = fs.openSync('/proc/self/fd/1', 'a');
    } catch (e) {
        return 1;
    }
    try {
        fs.closeSync(1);
        fs.openSync('/proc/self/fd/2', 'a'); // the lowest free fd: 1
    } catch (e) { /* fd 1 stays closed: stray output is lost, never mixed in */ }
    return fd;
}

/* The stream invocations are read from; fd 0 becomes /dev/null, so that the
 * handler (and its children) cannot eat them. */
function plumbStdin() {
    let fd = -1;
    try {
        if (fs.fstatSync(0).isFIFO()) fd = fs.openSync('/proc/self/fd/0', 'r');
    } catch (e) {
        fd = -1;
    }
    if (fd < 0) {
        const input = process.stdin;
        let empty = null;
        Object.defineProperty(process, 'stdin', {
            configurable: true, enumerable: true,
            get: () => empty || (empty = new (require('stream').Readable)({ read() { this.push(null); } })),
        });
        return input;
    }
    fs.closeSync(0);
    fs.openSync('/dev/null', 'r'); // the lowest free fd: 0
    const net = require('net');
    return new net.Socket({ fd, readable: true, writable: false, manualStart: true });
}

const out = plumbStdout();
const input = plumbStdin();
if (out === 1) {
    // fd 1 is still the protocol's: what JavaScript writes there goes to stderr
    Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true,
                                               get: () => process.stderr });
    for (const name of ['write', 'writeSync']) {
        const orig = fs[name];
        fs[name] = function (fd, ...rest) { return orig.call(this, fd === 1 ? 2 : fd, ...rest); };
    }
}

function emit(line) {
    const buf = Buffer.from(line + '\n');
    let off = 0;
    while (off < buf.length) {
        try {
            off += writeSync(out, buf, off, buf.length - off);
        } catch (e) {
            if (e.code !== 'EAGAIN') realExit(1); // the host is gone: nobody to answer
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        }
    }
}

function initError(type, message, stack) {
    emit(JSON.stringify({ type: 'init_error', error: { type, message, stack: stack || '' } }));
    realExit(1);
}

/* ---- logs ---- */

/* What one invocation wrote, cut at LOG_LIMIT bytes. */
class Logs {
    constructor() {
        this.parts = [];
        this.size = 0;
        this.cut = false;
    }

    add(s) {
        if (this.cut || !s) return;
        const n = Buffer.byteLength(s);
        if (this.size + n <= LOG_LIMIT) {
            this.parts.push(s);
            this.size += n;
            return;
        }
        const b = Buffer.from(s);
        let k = LOG_LIMIT - this.size;
        while (k > 0 && (b[k] & 0xc0) === 0x80) k--; // not inside a character
        this.parts.push(b.subarray(0, k).toString());
        this.size += k;
        this.cut = true;
    }

    text() {
        return this.parts.join('') + (this.cut ? '\n[logs truncated]' : '');
    }
}

let als = null; // concurrency > 1: AsyncLocalStorage naming the invocation
let sole = null; // concurrency 1: the running invocation
let loading = false;

/* The invocation this code runs for, or null (then: stderr). */
function current() {
    if (als) {
        const inv = als.getStore();
        if (inv) return inv.done ? null : inv;
    }
    return sole && !sole.done ? sole : null;
}

function text(chunk, encoding) {
    if (typeof chunk === 'string') {
        if (!encoding || encoding === 'utf8' || encoding === 'utf-8') return chunk;
        try {
            return Buffer.from(chunk, encoding).toString();
        } catch (e) {
            return chunk;
        }
    }
    try {
        return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString();
    } catch (e) {
        return String(chunk);
    }
}

const stderrWrite = process.stderr.write;
function toStderr(chunk, encoding, cb) {
    return stderrWrite.call(process.stderr, chunk, encoding, cb);
}

function capture(stream) {
    stream.write = function write(chunk, encoding, cb) {
        const inv = current();
        if (!inv) return toStderr(chunk, encoding, cb);
        if (typeof encoding === 'function') {
            cb = encoding;
            encoding = undefined;
        }
        inv.logs.add(text(chunk, encoding));
        if (typeof cb === 'function') process.nextTick(cb);
        return true;
    };
}
capture(process.stderr);
if (process.stdout !== process.stderr) capture(process.stdout);

/* ---- errors ---- */

const isFrame = (l) => /^\s+at /.test(l);
// node's own frames, and those without a place (at async Promise.all (index 0))
const isInternal = (l) => isFrame(l) && (/\(node:|at node:|\(internal\//.test(l) || !/:\d+:\d+\)?$/.test(l));

/* The stack without this runtime's frames and the node internals that led to them. */
function cleanStack(stack) {
    const lines = String(stack).split('\n');
    let end = lines.findIndex((l) => isFrame(l) && l.includes(__filename));
    if (end < 0) end = lines.length;
    while (end > 0 && isInternal(lines[end - 1])) end--;
    return lines.slice(0, end).join('\n');
}

function errorName(e) {
    const name = typeof e.name === 'string' ? e.name : '';
    if (name && name !== 'Error') return name;
    const ctor = e.constructor && typeof e.constructor.name === 'string' ? e.constructor.name : '';
    return ctor && ctor !== 'Object' ? ctor : name || 'Error';
}

/* {type, message, stack} of anything thrown. */
function describe(e) {
    const util = require('util');
    if (!(e instanceof Error) && !util.types.isNativeError(e)) {
        return { type: 'Error', message: typeof e === 'string' ? e : util.inspect(e), stack: '' };
    }
    let message = '';
    let stack = '';
    try {
        message = e.message === undefined ? '' : String(e.message);
        stack = typeof e.stack === 'string' ? cleanStack(e.stack) : '';
    } catch (x) { /* a throwing getter: keep what we have */ }
    return { type: errorName(e), message, stack };
}

/* A syntax error at import, with its place: ESM's come without one, so
 * node --check is asked for it. */
function describeSyntaxError(e, full) {
    const d = describe(e);
    const place = /^((?:file:\/\/)?\/.*):(\d+)$/; // the first line of a located one
    if (!d.stack.split('\n').some(isFrame) && !place.test(d.stack.split('\n')[0])) {
        const r = require('child_process').spawnSync(process.execPath, ['--check', full],
            { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 10000 });
        if (r.status !== 0 && r.stderr && r.stderr.includes('SyntaxError')) {
            const lines = r.stderr.split('\n');
            const last = lines.findIndex((l) => l.startsWith('SyntaxError'));
            d.stack = lines.slice(0, last + 1).join('\n');
        }
    }
    const where = place.exec(d.stack.split('\n')[0]);
    if (where) {
        const file = where[1].startsWith('file://') ? require('url').fileURLToPath(where[1]) : where[1];
        d.message += ` (${path.basename(file)}, line ${where[2]})`;
    }
    return d;
}

/* ---- the handler ---- */

function exitCode(code) {
    const n = code === undefined || code === null ? process.exitCode || 0 : Number(code);
    return Number.isInteger(n) ? n : 1;
}

let moduleFile = '';
process.exit = function exit(code) {
    const n = exitCode(code);
    const where = {};
    Error.captureStackTrace(where, exit);
    if (loading) {
        initError('SystemExit', `${moduleFile} exited at import (code ${n})`,
                  cleanStack(where.stack).replace(/^Error/, `SystemExit: code ${n}`));
    }
    const inv = current();
    if (inv) {
        const message = `the handler exited (code ${n})`;
        answer(inv, (logs) => errorLine(inv.id, { type: 'SystemExit', message,
            stack: cleanStack(where.stack).replace(/^Error/, `SystemExit: ${message}`) }, logs));
    }
    realExit(n);
};

/* An error nobody awaited: the running invocation's if there is one (the
 * instance goes on), else the host's log. */
function stray(e) {
    const d = describe(e);
    if (loading) initError(d.type, d.message, d.stack);
    const inv = current();
    if (inv) answer(inv, (logs) => errorLine(inv.id, d, logs));
    else toStderr(`uncaught ${d.stack || `${d.type}: ${d.message}`}\n`);
}
process.on('uncaughtException', stray);
process.on('unhandledRejection', stray);

/* A .cjs or .js module through require(), which costs a fraction of the ES
 * module loader's first import(): its namespace as import() would give it,
 * or undefined when the file is an ES module after all (import() then). */
function requireCommonJS(full) {
    try {
        const exp = require(full);
        const ns = { default: exp };
        if (exp !== null && (typeof exp === 'object' || typeof exp === 'function'))
            for (const k of Object.keys(exp)) ns[k] = exp[k];
        return ns;
    } catch (e) {
        if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE' ||
                  (e instanceof SyntaxError && /\b(import|export)\b/.test(e.message))))
            return undefined;
        throw e;
    }
}

/* The user's function, called as handler(event, context) (a plain call, as on Lambda). */
async function load(file, name) {
    let st = null;
    try {
        st = fs.statSync(file);
    } catch (e) { /* st stays null */ }
    if (!st || !st.isFile()) initError('FileNotFoundError', `${file}: no such file`);
    const full = path.resolve(file);
    let ns;
    loading = true;
    try {
        ns = full.endsWith('.mjs') ? undefined : requireCommonJS(full);
        if (ns === undefined)
            ns = await import(require('url').pathToFileURL(full).href);
    } catch (e) {
        const d = e instanceof SyntaxError ? describeSyntaxError(e, full) : describe(e);
        initError(d.type, d.message, d.stack);
    }
    loading = false;
    let fn = ns[name];
    const exp = ns.default;
    if (fn === undefined && exp !== null && (typeof exp === 'object' || typeof exp === 'function')
        && name in exp) {
        fn = exp[name]; // CommonJS: module.exports.handler
    }
    if (fn === undefined) initError('HandlerNotFound', `${file} has no function '${name}'`);
    if (typeof fn !== 'function') {
        initError('HandlerNotFound', `${file}: '${name}' is not a function (it is ${fn === null ? 'null' : typeof fn})`);
    }
    return (event, context) => fn(event, context);
}

function makeContext(c) {
    const deadline = typeof c.deadline_ms === 'number' ? c.deadline_ms : null;
    return {
        function_name: c.function_name ?? null,
        function_version: c.function_version ?? null,
        request_id: c.request_id ?? null,
        deadline_ms: c.deadline_ms ?? null,
        memory_limit_mb: c.memory_limit_mb ?? null,
        getRemainingTimeInMillis: () => (deadline === null ? Infinity : Math.max(0, deadline - Date.now())),
    };
}

/* ---- responses ---- */

function errorLine(id, d, logs) {
    return JSON.stringify({ type: 'response', id, ok: false,
                            error: { type: d.type, message: d.message, stack: d.stack }, logs });
}

function base64(v) {
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

// Buffer is one too; the test holds for those made in other realms (vm) as well
const isBytes = (v) => ArrayBuffer.isView(v) && Object.prototype.toString.call(v) === '[object Uint8Array]';

function okLine(id, value, logs) {
    let bytes = false;
    if (isBytes(value)) {
        value = base64(value);
        bytes = true;
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)
               && isBytes(value.body)) {
        value = { ...value, body: base64(value.body), is_base64: true };
    }
    let json;
    try {
        json = JSON.stringify(value);
    } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return errorLine(id, { type: 'TypeError', stack: '',
            message: `the handler's return value is not JSON-serializable: ${why}` }, logs);
    }
    return `{"type":"response","id":${JSON.stringify(id)},"ok":true,"value":${json === undefined ? 'null' : json},"bytes":${bytes},"logs":${JSON.stringify(logs)}}`;
}

/* Answers inv once: its logs end here. */
function answer(inv, line) {
    if (inv.done) return;
    inv.done = true;
    emit(line(inv.logs.text()));
}

async function invoke(handler, req) {
    const inv = { id: req.id, logs: new Logs(), done: false };
    const call = () => handler(req.event, makeContext(req.context));
    let ok = true;
    let value;
    try {
        if (als) {
            value = await als.run(inv, call);
        } else {
            sole = inv;
            value = await call();
        }
    } catch (e) {
        ok = false;
        value = e;
    }
    if (sole === inv) sole = null;
    answer(inv, ok ? (logs) => okLine(inv.id, value, logs) : (logs) => errorLine(inv.id, describe(value), logs));
}

/* {id, event, context} of a request line, or {id, why}. */
function parse(line) {
    let req;
    try {
        req = JSON.parse(line);
    } catch (e) {
        return { id: null, why: `the line is not JSON: ${e.message}` };
    }
    if (req === null || typeof req !== 'object' || Array.isArray(req)) {
        return { id: null, why: 'the line is not a JSON object' };
    }
    const id = req.id;
    if (typeof id !== 'string' && !Number.isInteger(id)) return { id: null, why: 'the invocation has no id' };
    if (!('event' in req)) return { id, why: 'the invocation has no event' };
    const context = req.context ?? {};
    if (typeof context !== 'object' || Array.isArray(context)) {
        return { id, why: "the invocation's context is not an object" };
    }
    return { id, event: req.event, context };
}

function protocolError(id, why) {
    emit(JSON.stringify({ type: 'response', id, ok: false, error: { type: 'ProtocolError', message: why } }));
}

/* Calls onLine for each non-blank line of input, then onEnd. */
function readLines(onLine, onEnd) {
    let pending = '';
    input.setEncoding('utf8');
    input.on('data', (chunk) => {
        pending += chunk;
        let i;
        while ((i = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, i);
            pending = pending.slice(i + 1);
            if (line.trim()) onLine(line);
        }
    });
    input.on('end', () => {
        if (pending.trim()) onLine(pending);
        pending = '';
        onEnd();
    });
}

/* Loop mode: up to `concurrency` invocations at once, in arrival order. */
function serve(handler, concurrency) {
    const queue = [];
    let running = 0;
    let eof = false;
    const pump = () => {
        while (running < concurrency && queue.length) {
            const req = parse(queue.shift());
            if (req.why) {
                protocolError(req.id, req.why);
                continue;
            }
            running++;
            invoke(handler, req).catch(stray).finally(() => {
                running--;
                pump();
            });
        }
        if (eof && !running && !queue.length) realExit(0);
    };
    readLines((line) => {
        queue.push(line);
        pump();
    }, () => {
        eof = true;
        pump();
    });
}

function once(handler) {
    let started = false;
    readLines((line) => {
        if (started) return;
        started = true;
        input.pause();
        const req = parse(line);
        if (req.why) {
            protocolError(req.id, req.why);
            realExit(1);
        }
        invoke(handler, req).then(() => realExit(0), (e) => {
            stray(e);
            realExit(1);
        });
    }, () => {
        if (!started) initError('ProtocolError', 'no invocation on stdin');
    });
}

async function main(argv) {
    if (argv.length < 3 || argv.length > 4 || !['once', 'loop'].includes(argv[0])) {
        initError('UsageError', USAGE);
    }
    const [mode, file, name] = argv;
    let concurrency = 1;
    if (argv.length === 4) {
        concurrency = /^\d+$/.test(argv[3]) ? Number(argv[3]) : 0;
        if (concurrency < 1 || concurrency > 64) {
            initError('UsageError', `CONCURRENCY must be 1 to 64, not '${argv[3]}'`);
        }
    }
    if (mode === 'loop' && concurrency > 1) als = new (require('async_hooks').AsyncLocalStorage)();
    moduleFile = file;
    process.argv = [process.argv[0], path.resolve(file)];
    const handler = await load(file, name);
    if (mode === 'once') {
        once(handler);
        return;
    }
    emit('{"type":"ready"}');
    serve(handler, concurrency);
}

main(process.argv.slice(2)).catch((e) => {
    const d = describe(e);
    initError(d.type, d.message, d.stack);
});
