import threading
from http.server import HTTPServer, SimpleHTTPRequestHandler

import pytest


@pytest.fixture
def static_server():
    srv = HTTPServer(("0.0.0.0", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
