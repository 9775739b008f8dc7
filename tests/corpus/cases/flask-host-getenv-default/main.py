import os

from flask import Flask, send_from_directory

app = Flask(__name__, static_folder="dist")


@app.route("/")
def spa():
    return send_from_directory(app.static_folder, "index.html")


if __name__ == "__main__":
    app.run(host=os.getenv("HOST", "0.0.0.0"), port=int(os.getenv("PORT", "5000")))
