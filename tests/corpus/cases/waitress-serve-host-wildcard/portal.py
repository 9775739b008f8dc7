def make_wsgi_app():
    def app(environ, start_response):
        start_response("204 No Content", [])
        return []

    return app
