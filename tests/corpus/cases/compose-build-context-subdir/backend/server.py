from flask import Flask

app = Flask(__name__)


@app.get("/api/hello")
def hello():
    return {"msg": "hi"}


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
