import os
import socket

import uvicorn
from flask import Flask

app = Flask(__name__)


def send_metric(name: str, value: float) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(f"{name}:{value}|g".encode(), ("0.0.0.0", 8125))


def run_flask() -> None:
    app.run(host=os.environ["FLASK_HOST"], port=5000)


def run_api() -> None:
    uvicorn.run("api:app", host=os.getenv("API_HOST"), port=8000)


if __name__ == "__main__":
    app.run(host="localhost", port=5000, debug=True)
