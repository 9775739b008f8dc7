#!/bin/bash
cd "$(dirname "$0")"
source .venv/bin/activate
gunicorn app:app --workers 4 --timeout 60
