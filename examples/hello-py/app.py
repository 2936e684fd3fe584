"""A small HTTP service for canary-lab's "test your own rollout" example.

Python 3 standard library only. It answers GET / with its version in the body
and in an X-Version header (which is how the lab's traffic tells versions
apart), and GET /healthz for probes. It listens on $POD_IP (every address when
unset) and $PORT (8080), the way its Kubernetes manifest tells it to, so the
same manifest runs on a cluster and on the lab's local platform.
"""

import os
import random
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("VERSION", "")
ERROR_RATE = float(os.environ.get("ERROR_RATE", "0"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/healthz":
            self.answer(200, "ok\n")
        elif self.path == "/":
            if random.random() < ERROR_RATE:
                self.answer(500, f"error from {VERSION}\n")
            else:
                self.answer(200, f"hello from {VERSION}\n")
        else:
            self.answer(404, "not found\n")

    def answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Version", VERSION)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        # One line per request would drown the pod's log.
        pass


def main():
    address = os.environ.get("POD_IP", "0.0.0.0")
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    # SIGTERM: stop accepting and finish, as a container is asked to stop.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"hello-py {VERSION} listening on {address}:{port}", flush=True)
    server.serve_forever()
    server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
