"""Shared fixtures. The suite runs against a real server started by tests/sdk/with_server.py."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(SDK))
sys.path.insert(0, os.path.join(SDK, "src"))
sys.path.insert(0, HERE)

import soulbox  # noqa: E402


def pytest_sessionstart(session):
    if not os.environ.get("SOULBOX_URL"):
        pytest.exit("SOULBOX_URL is not set: run this suite through tests/sdk/with_server.py, e.g.\n"
                    "  cd /work/main && tests/sdk/with_server.py --name sdkpy --uid-base 2010000000 -- "
                    "/usr/bin/python3 -m pytest -q -p no:cacheprovider sdk/python/tests",
                    returncode=1)
    assert os.path.dirname(soulbox.__file__) == os.path.join(SDK, "src", "soulbox"), soulbox.__file__


@pytest.fixture(scope="session")
def client():
    c = soulbox.Client()
    yield c
    c.close()


@pytest.fixture(scope="session")
def other():
    c = soulbox.Client(api_key=os.environ["SOULBOX_TEST_OTHER_KEY"])
    yield c
    c.close()


@pytest.fixture(scope="module")
def sandbox(client):
    sb = client.create_sandbox("python", timeout_s=900, metadata={"suite": "sdkpy"})
    yield sb
    try:
        sb.kill()
    except soulbox.NotFoundError:
        pass
