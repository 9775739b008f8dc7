from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DEBUG = False
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "blog"]
ROOT_URLCONF = "config.urls"
