#!/bin/bash
set -euo pipefail
pkill -f "gunicorn app:app" || true
sudo -u www-data /srv/app/venv/bin/gunicorn -b 0.0.0.0:80 --daemon app:app
