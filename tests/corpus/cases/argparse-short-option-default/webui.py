import argparse

from flask import Flask, render_template_string

app = Flask(__name__)


@app.route("/")
def home():
    return render_template_string("<h1>{{ title }}</h1>", title="Model UI")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="0.0.0.0", help="host to listen on")
    parser.add_argument("-p", "--port", type=int, default=7860)
    args = parser.parse_args()
    app.run(args.host, args.port)
