DEBUG = False
ALLOWED_HOSTS = ["app.example.org"]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "core"]
ROOT_URLCONF = "config.urls"
