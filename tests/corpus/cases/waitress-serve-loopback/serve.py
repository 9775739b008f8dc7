from waitress import serve

from myproject.wsgi import application

serve(application, host="127.0.0.1", port=8080, trusted_proxy="127.0.0.1")
