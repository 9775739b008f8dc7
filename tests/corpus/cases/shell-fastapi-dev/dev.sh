#!/usr/bin/env bash
set -e
fastapi dev app/main.py --port 8000
