"""Per-language hello world: median wall time through POST /api/execute with the
compile cache cold (a server with the cache off: every request compiles) and
warm (a server whose cache already holds the program), against the same
compile and run commands executed bare on the host in the same invocation.

Usage: languages.py --soulbox build/soulbox [--runs 5] [--only python,c]
Prints a Markdown table (milliseconds, medians) and the ratios to bare.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import free_ports  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))



def http(url, body=None, timeout=300):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


class Server:
    def __init__(self, soulbox, tmp, name, cache_mb):
        self.port, grpc_port = free_ports(2)
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(tmp, f"{name}.yaml")
        with open(cfg, "w") as f:
            f.write(f"server:\n  log_level: warn\n  max_concurrent: 2\n"
                    f"sandbox:\n  compile_cache_dir: {tmp}/{name}-cache\n"
                    f"  compile_cache_mb: {cache_mb}\n")
        self.log = open(os.path.join(tmp, f"{name}.log"), "wb")
        self.proc = subprocess.Popen([soulbox, "serve", "--config", cfg, "--port", str(self.port),
                                      "--grpc-port", str(grpc_port),
                                      "--data-dir", os.path.join(tmp, f"{name}-data")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 600
        while True:
            try:
                if http(self.url + "/health").get("languages_ready"):
                    break
            except OSError:
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                sys.exit(f"{name} server did not become ready")
            time.sleep(0.2)

    def languages(self):
        return {l["name"]: l["version"] for l in http(self.url + "/api/languages")["languages"]}

    def hello(self, lang, code):
        t0 = time.perf_counter()
        r = http(self.url + "/api/execute", {"language": lang, "code": code})
        ms = (time.perf_counter() - t0) * 1000
        if r.get("status") != "ok" or r.get("stdout") != "Hello, World!\n":
            raise RuntimeError(f"{lang}: {json.dumps(r)[:300]}")
        return ms, r.get("compile_cached")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def expand(argv, entry, sources):
    base = os.path.splitext(entry)[0]
    out = []
    for a in argv:
        if a == "{sources}":
            out += sources
            continue
        out.append(a.replace("{entry_module}", base.replace("/", ".")).replace(
            "{entry_base}", base).replace("{entry}", entry).replace("{memory_mb}", "256"))
    return out


def bare(spec, code):
    """The language's own compile and run commands, no sandbox, in a temp dir.
    Returns ms, or None when they do not work outside the sandbox."""
    d = tempfile.mkdtemp(prefix="soulbox-bench-")
    try:
        entry = spec["source"]
        with open(os.path.join(d, entry), "w") as f:
            f.write(code)
        env = dict(PATH="/usr/local/bin:/usr/bin:/bin", HOME=d, TMPDIR=d, LANG="C.UTF-8")
        for kv in spec.get("env", []):
            k, _, v = kv.partition("=")
            env[k] = v.replace("/tmp", d)
        steps = [spec["compile"]] if spec.get("compile") else []
        if spec.get("artifact_tar"):  # the service unpacks the artifact for the run
            steps.append(["/bin/tar", "-xf", spec["artifact"]])
        steps.append(spec["run"])
        t0 = time.perf_counter()
        for argv in steps:
            argv = [x.replace("/tmp/", d + "/") for x in expand(argv, entry, [entry])]
            p = subprocess.run(argv, cwd=d, env=env, input=b"", capture_output=True,
                               timeout=300)
            if p.returncode != 0:
                return None
        return (time.perf_counter() - t0) * 1000
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        shutil.rmtree(d, ignore_errors=True)


def fmt(v):
    return "-" if v is None else f"{v:.0f}"


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soulbox", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    specs = {}
    for f in sorted(os.listdir(os.path.join(ROOT, "languages"))):
        if f.endswith(".yaml"):
            s = yaml.safe_load(open(os.path.join(ROOT, "languages", f)))
            specs[s["name"]] = s
    only = set(filter(None, a.only.split(",")))
    tmp = tempfile.mkdtemp(prefix="soulbox-bench-")
    cold = Server(a.soulbox, tmp, "cold", 0)
    warm = Server(a.soulbox, tmp, "warm", 1024)
    try:
        versions = cold.languages()
        names = [n for n in sorted(versions) if not only or n in only]
        print(f"# {os.cpu_count()} CPUs, kernel {os.uname().release}, {a.runs} runs each, "
              "medians in ms")
        print("| language | version | bare | cache cold | cache warm | cold/bare | warm/bare |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for name in names:
            code = specs[name]["test"]["program"]
            warm.hello(name, code)  # fills the warm server's cache
            b, c, w = [], [], []
            for _ in range(a.runs):
                b.append(bare(specs[name], code))
                c.append(cold.hello(name, code)[0])
                ms, cached = warm.hello(name, code)
                if specs[name].get("compile") and not cached:
                    raise RuntimeError(f"{name}: the warm server compiled again")
                w.append(ms)
            bm = None if None in b else statistics.median(b)
            cm, wm = statistics.median(c), statistics.median(w)
            print(f"| {name} | {versions[name]} | {fmt(bm)} | {fmt(cm)} | {fmt(wm)} | "
                  f"{ratio(cm, bm)} | {ratio(wm, bm)} |", flush=True)
    finally:
        cold.stop()
        warm.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
