"""A webhook receiver for the monitor tests: every POST body is appended, one per line,
to OUT; answers 204. Serves 127.0.0.1:PORT until killed.

    python3 tests/lib/webhook.py PORT OUT
"""
import http.server
import sys

port, out = int(sys.argv[1]), sys.argv[2]


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
