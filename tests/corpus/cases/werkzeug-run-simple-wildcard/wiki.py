def make_app():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<h1>wiki</h1>"]

    return app
