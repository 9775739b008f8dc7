#!/bin/sh
set -e
exec uvicorn app.main:app --host :: --port 8000 --workers 2
