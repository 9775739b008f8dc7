from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

Handler = partial(SimpleHTTPRequestHandler, directory="public")

if __name__ == "__main__":
    httpd = ThreadingHTTPServer(("", 8000), Handler)
    print("preview on port 8000")
    httpd.serve_forever()
