#!/bin/bash
set -e
echo "nginx listens on 0.0.0.0:80 and proxies to the gunicorn socket"
exec gunicorn --bind unix:/run/app/gunicorn.sock --workers 3 project.wsgi
