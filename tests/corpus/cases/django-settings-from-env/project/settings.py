import os

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")

INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "api"]
ROOT_URLCONF = "project.urls"
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
