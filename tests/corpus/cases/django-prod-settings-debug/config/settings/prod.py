from .common import *  # noqa: F403

DEBUG = True
ALLOWED_HOSTS = ["api.example.io"]
CSRF_TRUSTED_ORIGINS = ["https://api.example.io"]
