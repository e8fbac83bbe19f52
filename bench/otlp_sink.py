"""python -m bench.otlp_sink PORT: an OTLP/HTTP endpoint that takes every export and keeps nothing.

The benchmarks send their spans here to measure what recording and exporting them costs the
system, not what a collector does with them. On SIGTERM it prints what it received.
"""

import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

received = {"exports": 0, "bytes": 0}
_lock = threading.Lock()


class Sink(BaseHTTPRequestHandler):
    """Reads each export and answers 200, as a collector does."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(size)
        with _lock:
            received["exports"] += 1
            received["bytes"] += size
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def main() -> None:
    """Serve until SIGTERM, then print the count."""
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    print(f"{received['exports']} exports, {received['bytes'] / 1e6:.1f} MB of spans", flush=True)


if __name__ == "__main__":
    main()
