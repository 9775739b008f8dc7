from .base import *  # noqa: F403

# TODO: turn off once the 500 on /checkout is understood
DEBUG = True
ALLOWED_HOSTS = ["www.example.shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "HOST": "db"}}
