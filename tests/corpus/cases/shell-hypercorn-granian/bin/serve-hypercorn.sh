#!/bin/sh
exec hypercorn --bind 0.0.0.0:8443 --certfile certs/cert.pem --keyfile certs/key.pem app:app
