import http.server
import json
import socketserver

PORT = 8090


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers["Content-Length"])
        payload = json.loads(self.rfile.read(length))
        print("push to", payload.get("ref"))
        self.send_response(204)
        self.end_headers()


with socketserver.TCPServer(("0.0.0.0", PORT), Hook) as httpd:
    httpd.serve_forever()
