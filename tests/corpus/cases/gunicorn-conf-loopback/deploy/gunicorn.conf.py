# bind = "0.0.0.0:8000"   # before nginx was set up
bind = ["127.0.0.1:8000", "unix:/run/app/gunicorn.sock"]
workers = 3
max_requests = 1000
max_requests_jitter = 50
forwarded_allow_ips = "127.0.0.1"
