#!/usr/bin/env bash
set -euo pipefail

echo "waiting for the database..."
python -m app.wait_for_db
alembic upgrade head

exec uvicorn app.main:app --host 0.0.0.0 --port "${PORT:-8000}" --proxy-headers
