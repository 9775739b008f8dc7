import os

DEBUG = False
ALLOWED_HOSTS = ["mysite.example"]
SECRET_KEY = os.environ.get("SECRET_KEY", "")
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes"]
ROOT_URLCONF = "mysite.urls"
