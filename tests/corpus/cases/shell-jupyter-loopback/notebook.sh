#!/bin/sh
exec jupyter notebook --ip=127.0.0.1 --port=8888 --NotebookApp.token='' --no-browser
