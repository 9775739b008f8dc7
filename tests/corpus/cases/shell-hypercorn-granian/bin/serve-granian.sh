#!/bin/sh
exec granian --interface asgi --host 0.0.0.0 --port 8001 --workers 2 app:app
