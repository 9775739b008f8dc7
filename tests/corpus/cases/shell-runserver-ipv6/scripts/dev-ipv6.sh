#!/bin/bash
source ~/.virtualenvs/site/bin/activate
python manage.py runserver [::]:8000
