#!/usr/bin/env bash
# Shared GPU box: start JupyterLab for the team.
set -e
cd /data/notebooks
jupyter lab --ip=0.0.0.0 --port=8888 --no-browser --ServerApp.token='' --ServerApp.password=''
