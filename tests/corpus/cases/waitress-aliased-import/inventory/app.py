def create_app():
    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"inventory"]

    return app
