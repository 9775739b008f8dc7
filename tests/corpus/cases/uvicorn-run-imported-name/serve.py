from uvicorn import run

if __name__ == "__main__":
    run("main:app", host="0.0.0.0", port=8000, proxy_headers=True, forwarded_allow_ips="*")
