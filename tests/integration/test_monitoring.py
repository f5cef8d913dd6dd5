"""deploy/monitoring: Prometheus alert rules and a Grafana dashboard for SoulBox.

The rules load (`promtool check rules`) and fire on the series that should
raise them and on nothing else (`promtool test rules` with
deploy/monitoring/alerts_test.yml); every metric the rules and the
dashboard's queries name is one a running server exposes, so a renamed
metric breaks this test instead of silently emptying an alert. promtool is
Debian's (prometheus package), unpacked by make setup.
"""
import json
import os
import re
import subprocess

from server import Server

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MON = os.path.join(REPO, "deploy", "monitoring")
PROMTOOL = "/var/lib/soulbox/tools/promtool"


def promtool(*args):
    assert os.access(PROMTOOL, os.X_OK), f"{PROMTOOL} missing: make setup unpacks it"
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=MON,
                          timeout=120)


def test_alert_rules_load():
    r = promtool("check", "rules", "alerts.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 9 rules found" in r.stdout


def test_alert_rules_fire_exactly_when_they_should():
    r = promtool("test", "rules", "alerts_test.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_a_broken_expectation_fails_the_rule_tests(tmp_path):
    """The rule tests can fail: an alert expected on the wrong node does."""
    with open(os.path.join(MON, "alerts_test.yml")) as f:
        text = f.read().replace('rule_files: [alerts.yml]',
                                f'rule_files: [{os.path.join(MON, "alerts.yml")}]')
    bad = tmp_path / "bad_test.yml"
    bad.write_text(text.replace('exp_labels: {severity: critical, instance: "b:8080"}',
                                'exp_labels: {severity: critical, instance: "a:8080"}'))
    r = promtool("test", "rules", str(bad))
    assert r.returncode != 0 and "SoulBoxStoreErrors" in r.stdout + r.stderr


def named_metrics():
    """soulbox_* and process_* names used by the rules and the dashboard."""
    texts = [open(os.path.join(MON, "alerts.yml")).read()]
    dash = json.load(open(os.path.join(MON, "grafana-dashboard.json")))
    assert dash["uid"] == "soulbox" and len(dash["panels"]) >= 8
    for p in dash["panels"]:
        assert p["targets"], p["title"]
        texts += [t["expr"] for t in p["targets"]]
    names = set()
    for t in texts:
        names |= set(re.findall(r"\b((?:soulbox|process)_[a-z_]+)", t))
    # a histogram's series carry suffixes
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_every_metric_they_name_is_exposed():
    config = ("sandbox:\n  pools:\n    - {language: python, size: 1}\n")
    with Server(config) as s:
        assert s.execute({"language": "python", "code": "print(1)"}).status_code == 200
        assert s.execute({"language": "nope", "code": "x"}).status_code == 422  # a refusal
        exposed = set(re.findall(r"^# TYPE ([a-z_]+) ", s.get("/metrics").text, re.M))
    wanted = named_metrics()
    assert {"soulbox_executions_total", "soulbox_seccomp_kills_total",
            "soulbox_store_errors_total", "soulbox_execution_duration_seconds"} <= wanted
    assert wanted - exposed == set(), sorted(wanted - exposed)
