DEBUG = False
SECRET_KEY = "set-in-env"
ALLOWED_HOSTS = ["*", "localhost"]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "portal.accounts"]
ROOT_URLCONF = "portal.urls"
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
