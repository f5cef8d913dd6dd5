"""A tiny scripted HTTP/1.1 server (keep-alive) that counts the TCP connections it accepts."""
import http.server
import json
import threading
import time


class Stub:
    def __init__(self):
        self.responses = []  # (status, headers, body bytes, delay seconds)
        self.requests = []  # (method, path, headers, body)
        self.connections = 0
        self.lock = threading.Lock()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                with stub.lock:
                    stub.connections += 1
                super().setup()

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with stub.lock:
                    stub.requests.append((self.command, self.path, dict(self.headers), body))
                    resp = stub.responses.pop(0) if stub.responses else None
                if resp is None:
                    resp = (200, {}, json.dumps(DEFAULT).encode(), 0, 0)
                status, headers, data, delay, trickle = resp
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                headers = dict({"Content-Type": "application/json", "X-Request-Id": "stub-req-1"},
                               **headers)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if trickle:
                    for i in range(len(data)):
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                        time.sleep(trickle)
                else:
                    self.wfile.write(data)
                if headers.get("Connection") == "close":
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, status, body=None, headers=None, delay=0, trickle=0):
        data = body if isinstance(body, bytes) else json.dumps(body if body is not None else DEFAULT).encode()
        self.responses.append((status, headers or {}, data, delay, trickle))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


DEFAULT = {"stdout": "stub\n", "stderr": "", "exit_code": 0, "execution_time": "1ms", "status": "ok",
           "signal": None, "wall_time_ms": 1, "cpu_time_ms": 1, "memory_kb": 1, "truncated": False,
           "id": "00000000-0000-0000-0000-000000000000"}
