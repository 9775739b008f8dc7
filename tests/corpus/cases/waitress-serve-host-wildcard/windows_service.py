import waitress

from portal import make_wsgi_app


def run() -> None:
    wsgi_app = make_wsgi_app()
    waitress.serve(wsgi_app, host="0.0.0.0", port=8000, threads=8)


if __name__ == "__main__":
    run()
