from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import run_simple

from wiki import make_app

app = SharedDataMiddleware(make_app(), {"/static": "static"})

if __name__ == "__main__":
    run_simple("0.0.0.0", 4000, app, threaded=True)
