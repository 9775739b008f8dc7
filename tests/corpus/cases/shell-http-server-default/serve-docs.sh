#!/usr/bin/env bash
set -e
make -C docs html
cd docs/_build/html
python3 -m http.server 8000
