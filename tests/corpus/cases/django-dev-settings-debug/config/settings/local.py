from .dev import *  # noqa: F403

DEBUG = True
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "local.sqlite3"}}
