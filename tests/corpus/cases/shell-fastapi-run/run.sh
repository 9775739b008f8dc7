#!/usr/bin/env bash
set -e
pip install -r requirements.txt
fastapi run app/main.py --port 80
