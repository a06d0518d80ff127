"""A request handler for fake JSON HTTP services on loopback (Piston, an OpenAI-compatible server): quiet, with one
way to answer.

    class Handler(JsonHandler):
        def do_GET(self):
            self.reply(200, {"data": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
"""

import json
from http.server import BaseHTTPRequestHandler


class JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass  # a test's output is its assertions

    def reply(self, status: int, payload) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def json_body(self):
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))
