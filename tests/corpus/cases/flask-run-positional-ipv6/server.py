import logging

from flask import Flask, render_template

log = logging.getLogger(__name__)
app = Flask(__name__, template_folder="templates")


@app.route("/")
def index():
    return render_template("index.html")


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    app.run("::", 8080)


if __name__ == "__main__":
    main()
