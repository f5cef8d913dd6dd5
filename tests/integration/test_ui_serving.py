"""The web UI's pages and assets as the server serves them: embedded, cached by
version, gzipped when accepted, with their security headers; off with
server.ui: false. (What the UI does in a browser: tests/ui.)"""
import gzip
import http.client
import re

import pytest

from server import Server

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'")
PAGES = ["/", "/ui/sessions", "/ui/admin"]


def get(s, path, method="GET", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


@pytest.fixture(scope="module")
def srv():
    with Server("", env={"SOULBOX_API_KEYS": "ui:ui-test-secret-0123456789"}) as s:
        yield s


def version(srv):
    _, body = get(srv, "/")
    m = re.search(rb'src="/ui/assets/app\.js\?v=([0-9a-f]{16})"', body)
    assert m, body[:400]
    return m.group(1).decode()


def test_the_pages_are_one_html_page_with_its_security_headers(srv):
    bodies = set()
    for path in PAGES:
        r, body = get(srv, path)
        assert r.status == 200, path
        assert r.getheader("Content-Type") == "text/html; charset=utf-8"
        assert r.getheader("Content-Security-Policy") == CSP
        assert r.getheader("X-Frame-Options") == "DENY"
        assert r.getheader("X-Content-Type-Options") == "nosniff"
        assert r.getheader("Referrer-Policy") == "no-referrer"
        assert r.getheader("Cache-Control") == "no-cache"
        assert r.getheader("Content-Encoding") is None
        assert int(r.getheader("Content-Length")) == len(body)
        bodies.add(body)
    assert len(bodies) == 1
    page = bodies.pop()
    assert page.startswith(b"<!doctype html>")
    v = version(srv)
    assert f'href="/ui/assets/app.css?v={v}"'.encode() in page
    # no script or style from elsewhere, no inline script (the CSP would refuse it)
    assert not re.search(rb"<script(?![^>]*src=\"/ui/assets/)", page)
    assert b"http://" not in page and b"https://" not in page


def test_the_pages_need_no_key_while_the_api_does(srv):
    r, _ = get(srv, "/")
    assert r.status == 200
    r, body = get(srv, "/api/languages")
    assert r.status == 401


def test_versioned_assets_are_immutable_and_others_revalidated(srv):
    v = version(srv)
    for name, ctype in [("app.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8")]:
        r, body = get(srv, f"/ui/assets/{name}?v={v}")
        assert r.status == 200 and r.getheader("Content-Type") == ctype
        assert r.getheader("Cache-Control") == "public, max-age=31536000, immutable"
        assert len(body) > 1000
        r, _ = get(srv, f"/ui/assets/{name}?v=0000000000000000")
        assert r.getheader("Cache-Control") == "no-cache"
        r, _ = get(srv, f"/ui/assets/{name}")
        assert r.getheader("Cache-Control") == "no-cache"


def test_gzip_when_accepted_and_only_then(srv):
    v = version(srv)
    path = f"/ui/assets/app.js?v={v}"
    _, plain = get(srv, path)
    r, packed = get(srv, path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert r.getheader("Content-Encoding") == "gzip"
    assert r.getheader("Vary") == "Accept-Encoding"
    assert len(packed) < len(plain) / 2
    assert gzip.decompress(packed) == plain
    for ae, gz in [("gzip;q=0", False), ("br, gzip;q=0.0", False), ("gzip;q=0.5", True), ("*", True),
                   ("identity", False), ("GZIP", True), ("x-gzip", False), ("*;q=0", False)]:
        r, body = get(srv, path, headers={"Accept-Encoding": ae})
        assert (r.getheader("Content-Encoding") == "gzip") == gz, ae
        assert (gzip.decompress(body) if gz else body) == plain, ae


def test_etag_answers_304_without_a_body(srv):
    for path in ["/", "/ui/assets/app.css"]:
        for headers in [{}, {"Accept-Encoding": "gzip"}]:
            r, _ = get(srv, path, headers=headers)
            etag = r.getheader("ETag")
            assert re.fullmatch(r'"[0-9a-f]{16}(-gz)?"', etag)
            assert etag.endswith('-gz"') == bool(headers)
            r, body = get(srv, path, headers={"If-None-Match": etag, **headers})
            assert r.status == 304 and body == b""
            assert r.getheader("ETag") == etag
            r, body = get(srv, path, headers={"If-None-Match": '"0000000000000000"', **headers})
            assert r.status == 200 and body


def test_head_other_paths_and_methods(srv):
    r, body = get(srv, "/", method="HEAD")
    assert r.status == 200 and body == b"" and int(r.getheader("Content-Length")) > 500
    r, body = get(srv, "/ui/nothing")
    assert r.status == 404 and b"no such endpoint" in body
    r, body = get(srv, "/ui/assets/app.js.gz")
    assert r.status == 404
    r, body = get(srv, "/", method="POST")
    assert r.status == 405 and r.getheader("Allow") == "GET"


def test_server_ui_false_serves_no_ui():
    with Server("server:\n  ui: false\n") as s:
        for path in PAGES + ["/ui/assets/app.js"]:
            r, body = get(s, path)
            assert r.status == 404 and b"no such endpoint" in body, path
        r, _ = get(s, "/health")
        assert r.status == 200

