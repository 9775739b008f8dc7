#!/usr/bin/env bash
set -e
cd "$(git rev-parse --show-toplevel)/dist"
nohup python -m http.server 9000 > /tmp/share.log 2>&1 &
echo "serving dist/ on port 9000 (pid $!)"
