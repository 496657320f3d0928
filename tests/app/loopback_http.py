"""A file server on 127.0.0.1 for the model manager's tests: HTTP Range, dropped
connections, slow transfers, HTTP errors. The tests never touch the internet."""
from __future__ import annotations

import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """Serves ``files`` (name -> bytes). Knobs, set by tests between requests:

    - ``cut_after``: send only this many body bytes, then drop the connection, for the
      next ``cuts`` responses;
    - ``ignore_range``: answer Range requests with the whole file (200);
    - ``status``: answer every request with this HTTP error status;
    - ``delay``: seconds to sleep after every 64 KiB (a slow line).

    ``requests`` records (path, Range header or None) of every request.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.requests: list[tuple[str, str | None]] = []
        self.cut_after: int | None = None
        self.cuts = 0
        self.ignore_range = False
        self.status: int | None = None
        self.delay = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/models/"

    def __enter__(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def ranges(self) -> list[str | None]:
        return [r for _path, r in self.requests]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                name = self.path.rsplit("/", 1)[-1]
                if server.status is not None:
                    self.send_error(server.status)
                    return
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name]
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                start = int(match.group(1)) if match and not server.ignore_range else 0
                if start >= len(data) and match and not server.ignore_range:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if server.cuts > 0 and server.cut_after is not None:
                    server.cuts -= 1
                    body = body[: server.cut_after]
                try:
                    for offset in range(0, len(body), 1 << 16):
                        self.wfile.write(body[offset:offset + (1 << 16)])
                        if server.delay:
                            time.sleep(server.delay)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up (cancel): fine
                self.wfile.flush()
                self.close_connection = True

        return Handler


def refused_url() -> str:
    """A loopback URL where nothing listens (connection refused, as when offline)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/models/"
