"""make check-microvm: VMs restored from snapshots of booted guests (docs/microvm.md, "Snapshots").

By default each microVM is restored from a snapshot of a guest of its shape
(RAM, vCPUs, network card) saved once after boot, then gets its runtimes
plugged in. These prove it happens (GET /health counts restores and boots),
that restored guests do not share what a snapshot would copy (random numbers,
the clock), that shapes get their own snapshot made once even under
concurrent first requests, and that `sandbox.microvm.snapshot: false` boots.
"""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
sys.path.insert(0, HERE)
from server import Server  # noqa: E402
from test_microvm import no_vm_left  # noqa: F401,E402 (autouse)

PROBE = ("import os, time\n"
         "print(os.urandom(16).hex())\n"
         "print(time.time())\n"
         "print(os.uname().release)\n")


def run(srv, code=PROBE, **extra):
    r = srv.execute(dict({"language": "python", "code": code, "isolation": "microvm"}, **extra),
                    timeout=240)
    assert r.status_code == 200, r.text
    return r.json()


def snapshots(srv):
    return srv.get("/health").json()["microvm"]["snapshots"]


def test_vms_are_restored_and_do_not_share_randomness_or_a_stale_clock():
    with Server() as srv:
        assert snapshots(srv) == {"enabled": True, "held": 0, "saved": 0, "restores": 0,
                                  "boots": 0, "restore_failures": 0}
        outs = []
        for _ in range(3):
            res = run(srv)
            assert res["status"] == "ok", res
            rnd, t, release = res["stdout"].split()
            assert abs(float(t) - time.time()) < 10, (t, time.time())
            assert release != os.uname().release
            outs.append(rnd)
        assert len(set(outs)) == 3, outs  # each guest reseeded at its start
        assert snapshots(srv) == {"enabled": True, "held": 1, "saved": 1, "restores": 3,
                                  "boots": 0, "restore_failures": 0}


def test_each_machine_shape_gets_its_own_snapshot_made_once():
    with Server() as srv:
        results = []

        def one():
            results.append(run(srv, limits={"memory_mb": 128}))
        threads = [threading.Thread(target=one) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r["status"] for r in results] == ["ok"] * 3, results
        assert snapshots(srv)["saved"] == 1  # the first made it, the others waited
        # another RAM size is another machine: its own snapshot
        res = run(srv, code="print(len(bytearray(100 << 20)))", limits={"memory_mb": 256})
        assert (res["status"], res["stdout"]) == ("ok", "104857600\n"), res
        # and the limit of a restored guest is its own, not its snapshot's
        res = run(srv, code="b = bytearray(200 << 20)\nprint('no')", limits={"memory_mb": 128})
        assert res["status"] == "memory_limit_exceeded", res
        st = snapshots(srv)
        assert (st["saved"], st["held"], st["restores"], st["boots"]) == (2, 2, 5, 0), st


def test_snapshots_can_be_turned_off():
    with Server("sandbox:\n  microvm:\n    snapshot: false\n") as srv:
        assert snapshots(srv) == {"enabled": False}
        res = run(srv)
        assert res["status"] == "ok", res
        assert snapshots(srv) == {"enabled": False}


def test_a_restore_that_never_comes_up_is_replaced_by_a_boot():
    """A restored guest that does not speak in time (here: a test hook keeps
    its runtimes from being plugged in) is destroyed and the VM boots
    instead: the request still succeeds, and /health says what happened."""
    with Server(env={"SOULBOX_TEST_VM_NO_HOTPLUG": "1"}) as srv:
        res = run(srv, code="print('booted')")
        assert (res["status"], res["stdout"]) == ("ok", "booted\n"), res
        st = snapshots(srv)
        assert (st["saved"], st["restores"], st["boots"], st["restore_failures"]) == \
            (1, 0, 1, 1), st
        assert st["error"] == "a restore: the restored guest did not speak within 3000 ms", st
