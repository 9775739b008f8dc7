import argparse
import logging

from flask import Flask

LISTEN_ALL = "0.0.0.0"
log = logging.getLogger("serve")
app = Flask(__name__)


@app.route("/")
def index():
    return "ok"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1", help="use 0.0.0.0 to listen on every interface")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    if args.host == LISTEN_ALL:
        log.warning("listening on %s: reachable from the network", LISTEN_ALL)
    app.run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
