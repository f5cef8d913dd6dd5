#!/usr/bin/env node
// A second gRPC client, in another language's stack (@grpc/grpc-js and
// @grpc/proto-loader), for tests/integration/test_grpc.py:
//
//   node tests/grpc_node/client.js 127.0.0.1:50051
//
// Loads proto/soulbox/v1/soulbox.proto at run time, makes four calls one after
// the other and prints one JSON object with what it saw. A call that fails is
// reported as {"error": {"code", "details"}} in its place; the script itself
// exits non-zero only on a bug of its own or when the whole run takes too long.
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const target = process.argv[2];
if (!target) {
    process.stderr.write('usage: node client.js HOST:PORT\n');
    process.exit(2);
}

const TICKER = 'import time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.2)\n';
const UPPER = "import sys\nfor line in sys.stdin:\n    print(line.upper(), end='', flush=True)\n";
const CALL_SECONDS = 30;

const def = protoLoader.loadSync('soulbox/v1/soulbox.proto', {
    includeDirs: [path.join(__dirname, '..', '..', 'proto')],
    keepCase: true,
    longs: String,
    defaults: true,
    oneofs: true,
});
const soulbox = grpc.loadPackageDefinition(def).soulbox.v1;
const client = new soulbox.SoulBox(target, grpc.credentials.createInsecure());

function deadline() {
    return Date.now() + CALL_SECONDS * 1000;
}

function rpcError(err) {
    return {error: {code: err.code, details: err.details}};
}

// A StageResult as the tests compare it: optional fields are null when unset.
function stage(r) {
    return {
        status: r.status,
        stdout: Buffer.from(r.stdout).toString('utf8'),
        stderr: Buffer.from(r.stderr).toString('utf8'),
        exit_code: r._exit_code === 'exit_code' ? r.exit_code : null,
        signal: r._signal === 'signal' ? r.signal : null,
        message: r.message,
        truncated: r.truncated,
    };
}

function unary() {
    return new Promise((resolve) => {
        client.Execute({language: 'python', code: 'print("hi from node")'},
                       {deadline: deadline()}, (err, res) => {
            if (err)
                return resolve(rpcError(err));
            resolve({id: res.id, result: stage(res.result)});
        });
    });
}

function stream() {
    return new Promise((resolve) => {
        const t0 = Date.now();
        const out = {events: {}, stdout: '', stdout_lines: 0, order: [], exit: null, ids_match: null};
        let startedId = null, firstStdoutMs = null, exitMs = null;
        const call = client.ExecuteStream({language: 'python', code: TICKER},
                                          {deadline: deadline()});
        call.on('data', (ev) => {
            const kind = ev.event;
            out.events[kind] = (out.events[kind] || 0) + 1;
            if (out.order[out.order.length - 1] !== kind)
                out.order.push(kind);   // runs of the same kind collapsed
            if (kind === 'started') {
                startedId = ev.started.id;
            } else if (kind === 'stdout') {
                const s = ev.stdout.data.toString('utf8');
                out.stdout += s;
                if (s.endsWith('\n'))
                    out.stdout_lines++;
                if (firstStdoutMs === null)
                    firstStdoutMs = Date.now() - t0;
            } else if (kind === 'exit') {
                exitMs = Date.now() - t0;
                out.exit = stage(ev.exit.result);
                out.ids_match = ev.exit.id === startedId && startedId !== '';
            }
        });
        call.on('error', () => {});   // the status event says it all
        call.on('status', (st) => {
            out.code = st.code;
            out.details = st.details;
            // how long before the exit event the first line came
            out.spread_ms = firstStdoutMs !== null && exitMs !== null ? exitMs - firstStdoutMs : null;
            resolve(out);
        });
    });
}

function interact() {
    return new Promise((resolve) => {
        const out = {echo: '', order: [], exit: null, errors: []};
        let sentClose = false;
        const call = client.Interact({deadline: deadline()});
        call.on('data', (ev) => {
            const kind = ev.event;
            if (out.order[out.order.length - 1] !== kind)
                out.order.push(kind);
            if (kind === 'started') {
                call.write({stdin: Buffer.from('hello\n')});
            } else if (kind === 'stdout') {
                out.echo += ev.stdout.data.toString('utf8');
                if (out.echo.endsWith('\n') && !sentClose) {
                    sentClose = true;
                    call.write({stdin_close: {}});
                }
            } else if (kind === 'error') {
                out.errors.push({code: ev.error.code, message: ev.error.message});
            } else if (kind === 'exit') {
                out.exit = stage(ev.exit.result);
                call.end();     // half-close only once the program has ended
            }
        });
        call.on('error', () => {});
        call.on('status', (st) => {
            out.code = st.code;
            out.details = st.details;
            resolve(out);
        });
        call.write({execute: {language: 'python', code: UPPER}});
    });
}

function invalid() {
    return new Promise((resolve) => {
        client.Execute({language: 'cobra', code: 'x'}, {deadline: deadline()}, (err) => {
            if (!err)
                return resolve({error: 'the call succeeded'});
            resolve({code: err.code, details: err.details});
        });
    });
}

async function main() {
    const watchdog = setTimeout(() => {
        process.stderr.write('client.js: timed out\n');
        process.exit(3);
    }, 4 * CALL_SECONDS * 1000 + 10000);
    const result = {};
    result.execute = await unary();
    result.stream = await stream();
    result.interact = await interact();
    result.invalid = await invalid();
    clearTimeout(watchdog);
    client.close();
    process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
    process.stderr.write(`client.js: ${e && e.stack || e}\n`);
    process.exit(1);
});
