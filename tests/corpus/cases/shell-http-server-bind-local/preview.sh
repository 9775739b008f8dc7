#!/usr/bin/env bash
cd "$(dirname "$0")/site"
python3 -m http.server --bind 127.0.0.1 8000
