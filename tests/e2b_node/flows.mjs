// Documented flows of the unmodified E2B SDKs (e2b, @e2b/code-interpreter),
// run against SoulBox by tests/integration/test_e2b.py. Point them at it with
// E2B_API_URL and E2B_SANDBOX_URL (and E2B_API_KEY). `node flows.mjs NAME`
// prints one JSON object: what each step saw (errors as their class name and
// message), for the test to assert on.
import { Sandbox } from '@e2b/code-interpreter'

const out = {}
async function step(name, fn) {
    try {
        out[name] = await fn()
    } catch (e) {
        out[name] = { error: e.constructor.name, message: String(e.message).slice(0, 500),
                      exitCode: e.exitCode, stderr: e.stderr }
    }
}

async function commands(sbx) {
    await step('run', () => sbx.commands.run('echo hello; echo oops >&2'))
    await step('streamed', async () => {
        const seen = []
        const r = await sbx.commands.run('for i in 1 2 3; do echo line$i; sleep 0.05; done',
            { onStdout: (d) => seen.push(d) })
        return { seen, stdout: r.stdout }
    })
    await step('env_cwd', () => sbx.commands.run('echo $GREETING; pwd',
        { envs: { GREETING: 'hi there' }, cwd: '/tmp' }))
    await step('exit3', () => sbx.commands.run('echo before; exit 3'))
    await step('background', async () => {
        const h = await sbx.commands.run('echo started; sleep 30', { background: true })
        const listed = (await sbx.commands.list()).map((p) => ({ pid: p.pid, cmd: p.cmd, args: p.args }))
        const killed = await h.kill()
        let waited
        try {
            waited = await h.wait()
        } catch (e) {
            waited = { error: e.constructor.name, exitCode: e.exitCode, message: e.message }
        }
        const again = await sbx.commands.kill(h.pid)
        return { pid: h.pid, listed, killed, waited, killedAgain: again }
    })
    await step('stdin', async () => {
        const h = await sbx.commands.run('read a; read b; echo "got $a $b"', { background: true, stdin: true })
        await sbx.commands.sendStdin(h.pid, 'one\n')
        await sbx.commands.sendStdin(h.pid, 'two\n')
        const r = await h.wait()
        return { stdout: r.stdout, exitCode: r.exitCode }
    })
    await step('timeout', () => sbx.commands.run('sleep 10', { timeoutMs: 500 }))
    await step('reconnect', async () => {
        const h = await sbx.commands.run('for i in 1 2 3 4; do echo t$i; sleep 0.2; done', { background: true })
        await h.disconnect()
        const h2 = await sbx.commands.connect(h.pid)
        const r = await h2.wait()
        return { exitCode: r.exitCode, hasLast: r.stdout.includes('t4') }
    })
}

async function files(sbx) {
    await step('write', () => sbx.files.write('/home/user/notes/a.txt', 'content A'))
    await step('read', () => sbx.files.read('/home/user/notes/a.txt'))
    await step('readBytes', async () => Array.from(await sbx.files.read('notes/a.txt', { format: 'bytes' })))
    await step('writeMany', () => sbx.files.write([
        { path: '/home/user/m/one.txt', data: '1' }, { path: 'm/two.txt', data: '22' },
        { path: '/tmp/three.bin', data: new Uint8Array([0, 1, 2, 255]).buffer }]))
    await step('readBinary', async () => Array.from(await sbx.files.read('/tmp/three.bin', { format: 'bytes' })))
    await step('list', async () => (await sbx.files.list('/home/user/m')).map((e) => ({ name: e.name, type: e.type, path: e.path, size: e.size })))
    await step('listDeep', async () => (await sbx.files.list('/home/user', { depth: 2 })).map((e) => e.path).sort())
    await step('exists', async () => [await sbx.files.exists('/home/user/m/one.txt'), await sbx.files.exists('/home/user/nope')])
    await step('getInfo', async () => { const i = await sbx.files.getInfo('m/two.txt'); return { name: i.name, type: i.type, size: i.size, path: i.path } })
    await step('makeDir', async () => [await sbx.files.makeDir('/home/user/d/e'), await sbx.files.makeDir('/home/user/d/e')])
    await step('rename', async () => (await sbx.files.rename('/home/user/m/one.txt', '/home/user/d/one.txt')).path)
    await step('remove', async () => { await sbx.files.remove('/home/user/d/one.txt'); return await sbx.files.exists('/home/user/d/one.txt') })
    await step('readMissing', () => sbx.files.read('/home/user/missing.txt'))
    await step('seenByCommand', async () => (await sbx.commands.run('cat /home/user/notes/a.txt; ls /home/user/m')).stdout)
    await step('watchDir', async () => {
        const events = []
        const h = await sbx.files.watchDir('/home/user/w', (e) => events.push([e.type, e.name]), { recursive: true })
            .catch(async (e) => { await sbx.files.makeDir('/home/user/w'); return sbx.files.watchDir('/home/user/w', (ev) => events.push([ev.type, ev.name]), { recursive: true }) })
        await sbx.files.write('/home/user/w/a.txt', 'x')
        await sbx.files.makeDir('/home/user/w/sub')
        await sbx.commands.run('echo y > /home/user/w/sub/b.txt; rm /home/user/w/a.txt')
        await new Promise((r) => setTimeout(r, 300))
        await h.stop()
        return events
    })
    await step('watchMissing', () => sbx.files.watchDir('/home/user/nope', () => {}))
}

async function code(sbx) {
    await step('cell1', async () => { const e = await sbx.runCode('x = 40 + 2\nprint("side")\nx'); return { text: e.text, logs: e.logs, count: e.executionCount } })
    await step('cell2', async () => { const e = await sbx.runCode('x * 10'); return { text: e.text } })
    await step('chart', async () => {
        const e = await sbx.runCode('import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [3, 1, 2])\nplt.title("t")\nplt.show()')
        return { n: e.results.length, png: e.results[0] && e.results[0].png ? e.results[0].png.slice(0, 12) : null, main: e.results[0] && e.results[0].isMainResult }
    })
    await step('dataframe', async () => { const e = await sbx.runCode('import pandas as pd\npd.DataFrame({"a": [1, 2]})'); return { html: (e.results[0].html || '').includes('<table'), text: e.text } })
    await step('error', async () => { const e = await sbx.runCode('def f():\n    return 1 / 0\nf()'); return e.error ? { name: e.error.name, value: e.error.value, traceback: e.error.traceback } : null })
    await step('callbacks', async () => {
        const got = []
        await sbx.runCode('import sys\nprint("o")\nprint("e", file=sys.stderr)\n7', {
            onStdout: (m) => got.push(['out', m.line]), onStderr: (m) => got.push(['err', m.line]),
            onResult: (r) => got.push(['result', r.text]) })
        return got
    })
    await step('contexts', async () => {
        const a = await sbx.createCodeContext()
        const b = await sbx.createCodeContext({ cwd: '/tmp' })
        await sbx.runCode('v = "in a"', { context: a })
        const inA = (await sbx.runCode('v', { context: a })).text
        const inB = await sbx.runCode('v', { context: b })
        const cwdB = (await sbx.runCode('import os; os.getcwd()', { context: b })).text
        const listed = (await sbx.listCodeContexts()).length
        await sbx.restartCodeContext(a)
        const afterRestart = await sbx.runCode('v', { context: a })
        await sbx.removeCodeContext(b)
        const listedAfter = (await sbx.listCodeContexts()).length
        return { inA, inBError: inB.error && inB.error.name, cwdB, listed, afterRestartError: afterRestart.error && afterRestart.error.name, listedAfter }
    })
    await step('js', async () => (await sbx.runCode('const n = 6 * 7; n', { language: 'javascript' })).text)
    await step('bash', async () => (await sbx.runCode('echo $((6 * 7))', { language: 'bash' })).logs.stdout.join(''))
}

async function lifecycle(sbx) {
    await step('info', async () => { const i = await sbx.getInfo(); return { id: i.sandboxId, template: i.templateId, metadata: i.metadata, state: i.state } })
    await step('setTimeout', async () => { await sbx.setTimeout(120000); const i = await sbx.getInfo(); return Date.parse(i.endAt) - Date.now() })
    await step('list', async () => {
        const p = Sandbox.list({ query: { metadata: { suite: 'e2b-flows' } } })
        return (await p.nextItems()).map((s) => s.sandboxId)
    })
    await step('isRunning', () => sbx.isRunning())
    await step('connect', async () => { const c = await Sandbox.connect(sbx.sandboxId); return (await c.commands.run('echo via connect')).stdout })
    await step('kill', () => sbx.kill())
    await step('killAgain', () => Sandbox.kill(sbx.sandboxId))
    await step('afterKill', () => sbx.commands.run('echo no'))
    await step('connectGone', () => Sandbox.connect(sbx.sandboxId))
}

// With API keys: E2B_API_KEY is a SoulBox key; another key must not see its sandbox.
async function auth(sbx) {
    const other = { apiKey: process.env.OTHER_KEY }
    await step('otherList', async () => (await Sandbox.list(other).nextItems()).map((s) => s.sandboxId))
    await step('otherConnect', () => Sandbox.connect(sbx.sandboxId, other))
    await step('otherKill', () => Sandbox.kill(sbx.sandboxId, other))
    await step('stillThere', async () => (await sbx.commands.run('echo still')).stdout)
    await step('badKey', () => Sandbox.create({ apiKey: 'not-a-key' }))
}

const flow = process.argv[2]
const template = process.argv[3]
await step('create', async () => {
    const sbx = template ? await Sandbox.create(template, { metadata: { suite: 'e2b-flows' }, timeoutMs: 300000 })
                         : await Sandbox.create({ metadata: { suite: 'e2b-flows' }, timeoutMs: 300000 })
    out.sandbox = sbx
    return { id: sbx.sandboxId }
})
const sbx = out.sandbox
delete out.sandbox
if (sbx) {
    if (flow === 'commands') await commands(sbx)
    if (flow === 'files') await files(sbx)
    if (flow === 'code') await code(sbx)
    if (flow === 'lifecycle') await lifecycle(sbx)
    if (flow === 'auth') await auth(sbx)
    if (flow !== 'lifecycle') await sbx.kill().catch(() => {})
}
process.stdout.write(JSON.stringify(out) + '\n')
