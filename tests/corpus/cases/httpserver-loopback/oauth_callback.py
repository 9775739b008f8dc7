import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

CODE = {}


class Callback(BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.urlparse(self.path).query
        CODE.update(urllib.parse.parse_qs(q))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"You can close this tab.")


def wait_for_code() -> dict:
    server = HTTPServer(("127.0.0.1", 8765), Callback)
    server.handle_request()
    return CODE
