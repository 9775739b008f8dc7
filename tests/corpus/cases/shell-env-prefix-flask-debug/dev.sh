#!/bin/sh
export FLASK_APP=portal
FLASK_DEBUG=1 flask run --host=0.0.0.0 --port=5000
