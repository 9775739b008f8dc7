DEBUG = False
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "shop"]
ROOT_URLCONF = "config.urls"
