from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "kiosk"


if __name__ == "__main__":
    # The kiosk is on an isolated VLAN; reviewed 2026-03.
    app.run(host="0.0.0.0", port=80)  # bindscope: ignore[bind-all]
