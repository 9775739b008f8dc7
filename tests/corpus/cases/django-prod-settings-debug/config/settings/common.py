DEBUG = False
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "api"]
ROOT_URLCONF = "config.urls"
