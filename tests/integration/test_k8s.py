"""deploy/k8s: the Kubernetes manifests (deploy/k8s/README.md), checked offline.

Every manifest is validated against the Kubernetes OpenAPI schemas as
kubernetes-models compiles them (tests/k8s_node/validate.mjs, pinned in
tests/k8s_node/package.json; make setup runs `npm ci` there): types, required
fields, enums, quantities, and unknown fields, which the API server's strict
field validation (kubectl's default) refuses. kubectl itself cannot do this
without a cluster: `--dry-run=client` still downloads the schemas from the
server. The validator is shown to fail on broken copies of the manifests;
`kubectl kustomize` (no cluster needed) renders deploy/k8s to exactly these
objects; and what the manifests promise is checked against the rest of the
project: the security context docs/deploy.md gives, probes and scrape on
routes the binary serves, a config and arguments the binary accepts, a grace
period that covers server.shutdown_grace_ms.
"""
import copy
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K8S = os.path.join(REPO, "deploy", "k8s")
NODE_DIR = os.path.join(REPO, "tests", "k8s_node")
SOULBOX = os.environ.get("SOULBOX", os.path.join(REPO, "build", "soulbox"))


def kustomization():
    with open(os.path.join(K8S, "kustomization.yaml")) as f:
        return yaml.safe_load(f)


def manifest_files():
    return [os.path.join(K8S, r) for r in kustomization()["resources"]]


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


@pytest.fixture(scope="module")
def objs():
    """The manifests' objects by kind (one of each)."""
    found = {}
    for path in manifest_files():
        for d in load_all(path):
            assert d["kind"] not in found, f"two {d['kind']}s"
            found[d["kind"]] = d
    return found


def validate(*paths):
    node = shutil.which("node")
    assert node, "node missing: make setup installs npm (and nodejs)"
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "kubernetes-models")), \
        "tests/k8s_node/node_modules missing: make setup runs npm ci there (scripts/setup.sh)"
    r = subprocess.run([node, os.path.join(NODE_DIR, "validate.mjs"), *paths],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return r.returncode, json.loads(r.stdout)


def test_every_manifest_is_valid_against_the_kubernetes_schemas():
    listed = sorted(kustomization()["resources"])
    on_disk = sorted(f for f in os.listdir(K8S)
                     if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml")
    assert listed == on_disk, "kustomization.yaml must list every manifest in deploy/k8s"
    rc, results = validate(*manifest_files())
    bad = [r for r in results if r["errors"]]
    assert rc == 0 and not bad, json.dumps(bad, indent=1)
    assert sorted(r["kind"] for r in results) == \
        ["ConfigMap", "Deployment", "Namespace", "PodDisruptionBudget", "Service"]


def test_the_validator_rejects_broken_manifests(tmp_path):
    """Broken copies of the real manifests, each with what must be said about it;
    an unchanged copy in the same run passes."""
    with open(os.path.join(K8S, "deployment.yaml")) as f:
        dep_text = f.read()
    dep = yaml.safe_load(dep_text)
    with open(os.path.join(K8S, "service.yaml")) as f:
        svc = yaml.safe_load(f)

    def pod(d):
        return d["spec"]["template"]["spec"]

    def box(d):
        return pod(d)["containers"][0]

    cases = {
        "replicas": (dep, lambda d: d["spec"].__setitem__("replicas", "three"),
                     "/spec/replicas: must be integer"),
        "unknown-field": (dep, lambda d: pod(d).__setitem__("containerz", pod(d)["containers"]),
                          '/spec/template/spec/containerz: unknown field "containerz"'),
        "misspelt-probe": (dep, lambda d: box(d).__setitem__("readinesProbe", box(d)["readinessProbe"]),
                           'unknown field "readinesProbe"'),
        "no-container-name": (dep, lambda d: box(d).pop("name"),
                              "/spec/template/spec/containers/0: must have required property name"),
        "caps-not-a-list": (dep, lambda d: box(d)["securityContext"]["capabilities"]
                            .__setitem__("add", "SYS_ADMIN"),
                            "/securityContext/capabilities/add: must be array"),
        "seccomp-enum": (dep, lambda d: box(d)["securityContext"]["seccompProfile"]
                         .__setitem__("type", "unconfined"),
                         "/seccompProfile/type: must be equal to one of the allowed values"),
        "quantity": (dep, lambda d: box(d)["resources"]["limits"].__setitem__("memory", "8Gb"),
                     '/resources/limits/memory: must match format "quantity"'),
        "no-selector": (dep, lambda d: d["spec"].pop("selector"),
                        "/spec: must have required property selector"),
        "apiversion": (dep, lambda d: d.__setitem__("apiVersion", "apps/v2"),
                       'no schema for apiVersion "apps/v2" kind "Deployment"'),
        "service-port": (svc, lambda d: d["spec"]["ports"][0].__setitem__("port", "http"),
                         "/spec/ports/0/port: must be integer"),
    }
    paths = {}
    for name, (base, breaks, _) in cases.items():
        d = copy.deepcopy(base)
        breaks(d)
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(d))
    # YAML as Kubernetes reads it: `yes` is a boolean, and annotations are strings
    paths["yaml-1.1"] = tmp_path / "yaml-1.1.yaml"
    paths["yaml-1.1"].write_text(dep_text.replace('prometheus.io/scrape: "true"',
                                                  "prometheus.io/scrape: yes"))
    paths["duplicate-key"] = tmp_path / "duplicate-key.yaml"
    paths["duplicate-key"].write_text(dep_text.replace("  replicas: 3\n",
                                                       "  replicas: 3\n  replicas: 2\n"))
    paths["unchanged"] = tmp_path / "unchanged.yaml"
    paths["unchanged"].write_text(dep_text)
    want = {name: msg for name, (_, _, msg) in cases.items()}
    want["yaml-1.1"] = "/spec/template/metadata/annotations/prometheus.io~1scrape: must be string"
    want["duplicate-key"] = "Map keys must be unique"

    rc, results = validate(*map(str, paths.values()))
    assert rc == 1
    by_name = {os.path.basename(r["file"])[:-5]: r["errors"] for r in results}
    assert by_name.pop("unchanged") == []
    for name, msg in want.items():
        errors = by_name[name]
        assert any(msg in e for e in errors), (name, errors)


def test_kustomize_renders_exactly_these_objects(tmp_path):
    """`kubectl apply -k deploy/k8s` sends what the other tests check."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl missing: make setup installs kubernetes-client"
    r = subprocess.run([kubectl, "kustomize", K8S], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rendered = [d for d in yaml.safe_load_all(r.stdout) if d is not None]
    files = [d for p in manifest_files() for d in load_all(p)]

    def key(d):
        return json.dumps(d, sort_keys=True)
    assert sorted(map(key, rendered)) == sorted(map(key, files))
    out = tmp_path / "rendered.yaml"
    out.write_text(r.stdout)
    rc, results = validate(str(out))
    assert rc == 0 and len(results) == 5, results


def test_the_security_context_is_the_documented_least_privilege(objs):
    dep = objs["Deployment"]
    pod = dep["spec"]["template"]["spec"]
    (box,) = pod["containers"]
    sc = box["securityContext"]
    caps = sc["capabilities"]
    assert caps["drop"] == ["ALL"]
    assert {"SYS_ADMIN", "NET_ADMIN"} <= set(caps["add"])
    # and the rest docs/deploy.md says SoulBox uses from Docker's default set,
    # plus NET_BIND_SERVICE (network-enabled sandboxes); names without CAP_
    with open(os.path.join(REPO, "docs", "deploy.md")) as f:
        doc = f.read()
    m = re.search(r"default capability set already holds the rest SoulBox uses\s*\(([^)]*)\)", doc)
    assert m, "docs/deploy.md no longer lists the capabilities SoulBox uses"
    documented = set(re.findall(r"`([A-Z_]+)`", m.group(1)))
    assert documented and documented <= set(caps["add"]), documented - set(caps["add"])
    assert set(caps["add"]) == documented | {"SYS_ADMIN", "NET_ADMIN", "NET_BIND_SERVICE"}
    assert not any(c.startswith("CAP_") for c in caps["add"])
    assert sc.get("privileged") is not True
    # the API server refuses allowPrivilegeEscalation: false with CAP_SYS_ADMIN
    # spelt that way; spelt SYS_ADMIN it sets no_new_privs (deployment.yaml)
    assert sc.get("allowPrivilegeEscalation") is False
    assert sc["seccompProfile"] == {"type": "Unconfined"}
    assert sc["appArmorProfile"] == {"type": "Unconfined"}
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert annotations[f"container.apparmor.security.beta.kubernetes.io/{box['name']}"] == \
        "unconfined"
    # nothing of the node's: no host namespaces, paths or devices
    for k in ("hostPID", "hostIPC", "hostNetwork"):
        assert not pod.get(k), k
    assert not any("hostPath" in v for v in pod["volumes"])
    assert pod["automountServiceAccountToken"] is False
    # Pod Security admission would refuse all of that below "privileged"
    labels = objs["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    # one pod per node: sandbox uids are the node's (docs/deploy.md)
    term = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]


def routes():
    assert os.access(SOULBOX, os.X_OK), f"{SOULBOX} missing: make builds it"
    r = subprocess.run([SOULBOX, "routes"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_probes_ports_service_pdb_and_scrape_agree(objs):
    dep, svc, pdb = objs["Deployment"], objs["Service"], objs["PodDisruptionBudget"]
    assert dep["spec"]["replicas"] == 3
    template = dep["spec"]["template"]
    (box,) = template["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in box["ports"]}
    assert ports == {"http": 8080, "grpc": 50051}
    served = routes()
    assert re.search(r"GET\s+/health\b", served) and re.search(r"GET\s+/metrics\b", served), served
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = box[probe]["httpGet"]
        assert get["path"] == "/health" and ports.get(get["port"], get["port"]) == 8080, probe
    # the API server's rule: the selector selects the template's labels
    selector = dep["spec"]["selector"]["matchLabels"]
    assert selector.items() <= template["metadata"]["labels"].items()
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable") == 2
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["selector"].items() <= template["metadata"]["labels"].items()
    exposed = {p["port"]: ports.get(p["targetPort"], p["targetPort"]) for p in svc["spec"]["ports"]}
    assert exposed == {8080: 8080, 50051: 50051}
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8080"
    assert annotations["prometheus.io/path"] == "/metrics"


def config_of(objs):
    return yaml.safe_load(objs["ConfigMap"]["data"]["soulbox.yaml"])


def test_the_config_and_arguments_are_ones_soulbox_takes(objs, tmp_path):
    dep = objs["Deployment"]
    pod = dep["spec"]["template"]["spec"]
    (box,) = pod["containers"]
    cfg_text = objs["ConfigMap"]["data"]["soulbox.yaml"]
    cfg = config_of(objs)
    path = tmp_path / "soulbox.yaml"
    path.write_text(cfg_text)
    assert os.access(SOULBOX, os.X_OK), f"{SOULBOX} missing: make builds it"
    # loading the config validates every key (unknown ones are refused)
    r = subprocess.run([SOULBOX, "languages", "--config", str(path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # the ConfigMap lands where the entrypoint reads its config
    with open(os.path.join(REPO, "deploy", "container", "entrypoint.sh")) as f:
        assert "CONFIG=${SOULBOX_CONFIG:-/etc/soulbox/soulbox.yaml}" in f.read()
    mounts = {m["name"]: m["mountPath"] for m in box["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["config"] == "/etc/soulbox"
    assert volumes["config"]["configMap"]["name"] == objs["ConfigMap"]["metadata"]["name"]
    assert mounts["data"] == cfg["server"]["data_dir"] == "/var/lib/soulbox"
    assert "emptyDir" in volumes["data"]
    assert (cfg["server"]["listen"], cfg["server"]["port"], cfg["server"]["grpc_port"]) == \
        ("0.0.0.0", 8080, 50051)
    # the arguments, as the entrypoint passes them on: `soulbox serve --config
    # FILE ARGS...`; --help after them exits 0 only if every flag before is known
    args = box["args"]
    assert "command" not in box, "the image's entrypoint must stay"
    assert args == ["serve"]
    r = subprocess.run([SOULBOX, "serve", "--config", str(path), *args[1:], "--help"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"soulbox serve refuses the Deployment's args {args}: {r.stderr}"
    # API keys and the store URL come from Secrets the operator makes: none is kept here
    assert "Secret" not in objs
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in box["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}
    env = {e["name"]: e for e in box["env"]}
    # how the other nodes reach this one: the pod's IP, on the http port
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["SOULBOX_ADVERTISE_URL"]["value"] == "http://$(POD_IP):8080"
    assert (refs["SOULBOX_STORE"]["name"], refs["SOULBOX_STORE"]["key"]) == \
        ("soulbox-store", "url")
    assert "SOULBOX_STORE does the same" in r.stdout      # the variables `soulbox serve` reads
    assert "SOULBOX_ADVERTISE_URL sets cluster.advertise_url" in r.stdout
    assert refs["SOULBOX_API_KEYS"]["name"] == "soulbox-api-keys"
    assert "SOULBOX_API_KEYS" in r.stdout     # the variable `soulbox serve` reads
    with open(os.path.join(K8S, "README.md")) as f:
        readme = f.read()
    assert "kubectl -n soulbox create secret generic soulbox-api-keys" in readme
    assert "kubectl -n soulbox create secret generic soulbox-store" in readme


def test_the_grace_period_covers_the_drain(objs):
    """SIGTERM comes after preStop; SoulBox then gives in-flight runs
    server.shutdown_grace_ms before cancelling them, and must exit before SIGKILL."""
    cfg = config_of(objs)
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    (box,) = pod["containers"]
    pre_stop = box["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain_s = cfg["server"]["shutdown_grace_ms"] / 1000
    assert drain_s == 10
    assert pod["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + drain_s + 5
