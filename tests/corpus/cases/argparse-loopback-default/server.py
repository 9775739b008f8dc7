"""Development server.

Pass --host 0.0.0.0 to let other machines connect (never do that on a cafe Wi-Fi).
"""
import argparse

import uvicorn


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1", help="e.g. 0.0.0.0 for every interface")
    p.add_argument("--port", type=int, default=8000)
    a = p.parse_args()
    uvicorn.run("app:app", host=a.host, port=a.port)


if __name__ == "__main__":
    main()
