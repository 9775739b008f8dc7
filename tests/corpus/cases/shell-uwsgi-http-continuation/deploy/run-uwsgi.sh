#!/bin/bash
set -euo pipefail
APP_DIR=/srv/app

uwsgi --http :8080 \
      --wsgi-file "$APP_DIR/app.py" \
      --callable app \
      --master --processes 4 --threads 2
