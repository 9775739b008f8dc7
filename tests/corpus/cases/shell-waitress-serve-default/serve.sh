#!/bin/sh
. venv/bin/activate
waitress-serve --port=8080 --threads=8 myapp:app
