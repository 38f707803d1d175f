"""A Pod of any non-ironlb image in the lab: answers HTTP like nginx's welcome page.

``python -m ironlb.lab.podserver --name POD --port 80 [--port 8080]``. The page is nginx's
default one (so the seed's "you should see the default nginx welcome page" holds), with the
Pod's name in a header so tests can see which endpoint answered.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WELCOME = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""


def make_handler(pod: str) -> type[BaseHTTPRequestHandler]:
    body = WELCOME.encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "nginx/1.27.3"
        sys_version = ""

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Lab-Pod", pod)
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="podserver")
    parser.add_argument("--name", default="pod")
    parser.add_argument("--port", type=int, action="append", default=[])
    parser.add_argument("--ready-file", default=None, help="touched once every port listens")
    args = parser.parse_args(argv)
    servers = []
    for port in args.port or [80]:
        server = ThreadingHTTPServer(("0.0.0.0", port), make_handler(args.name))
        server.daemon_threads = True
        servers.append(server)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.ready_file:
        Path(args.ready_file).touch()
    try:
        servers[0].serve_forever()
    finally:
        for server in servers:
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
