#!/usr/bin/env bash
set -euo pipefail
python manage.py migrate
python manage.py runserver_plus 0.0.0.0:8000 --cert-file /tmp/dev-cert
