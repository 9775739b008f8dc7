import json
import socket

PORT = 5140


def serve() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("", PORT))
    s.listen()
    while True:
        conn, _ = s.accept()
        with conn:
            event = json.loads(conn.recv(65536))
            print(event["name"])


if __name__ == "__main__":
    serve()
