"""Admin console.

Do not start it with app.run(host="0.0.0.0"): it has no login. Use an SSH tunnel:
    ssh -L 5000:127.0.0.1:5000 server
"""
import logging

from flask import Flask

log = logging.getLogger("admin")
app = Flask(__name__)


@app.route("/")
def home():
    return "admin"


if __name__ == "__main__":
    log.info("never listening on 0.0.0.0; see docs")
    print("Tip: 0.0.0.0 would expose this console to your LAN")
    app.run(host="127.0.0.1", port=5000)
