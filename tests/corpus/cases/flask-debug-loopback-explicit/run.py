import os

from myapp import create_app

app = create_app(os.environ.get("APP_CONFIG", "development"))

if __name__ == "__main__":
    # Use 0.0.0.0 only inside the dev container; on a laptop keep the debugger local.
    app.run(host="127.0.0.1", port=5000, debug=True, use_reloader=True)
