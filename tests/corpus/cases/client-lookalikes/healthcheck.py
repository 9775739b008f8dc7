import socket
import subprocess
import sys

import redis
import requests

cache = redis.Redis(host="0.0.0.0", port=6379, db=0)


def probe(host: str = "0.0.0.0", port: int = 8000) -> bool:
    """True when something answers on host:port (0.0.0.0 means this machine on Linux)."""
    proc = subprocess.run(["nc", "-z", "-w", "2", host, str(port)], capture_output=True)
    return proc.returncode == 0


def main() -> int:
    ok = probe()
    with socket.create_connection(("0.0.0.0", 8000), timeout=2):
        pass
    r = requests.get("http://0.0.0.0:8000/health", timeout=2)
    cache.ping()
    return 0 if ok and r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
