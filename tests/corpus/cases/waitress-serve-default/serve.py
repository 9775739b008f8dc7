from waitress import serve

from shop.wsgi import application

if __name__ == "__main__":
    serve(application, port=8080, threads=6)
