from flask import Flask
from flask_cors import CORS

app = Flask(__name__)
CORS(
    app,
    origins=["http://localhost:5173", "http://0.0.0.0:5173", "http://127.0.0.1:5173"],
    supports_credentials=True,
)
DEV_ORIGINS = ("http://0.0.0.0:3000", "http://localhost:3000")


@app.after_request
def banner(resp):
    resp.headers["X-Dev-Origins"] = ",".join(DEV_ORIGINS)
    return resp


if __name__ == "__main__":
    app.run(port=5000)
