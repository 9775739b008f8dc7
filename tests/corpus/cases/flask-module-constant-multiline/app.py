from flask import Flask, jsonify

HOST = "0.0.0.0"
PORT = 8080

app = Flask(__name__)


@app.get("/version")
def version():
    return jsonify(version="1.4.2")


if __name__ == "__main__":
    app.run(
        host=HOST,
        port=PORT,
        threaded=True,
    )
