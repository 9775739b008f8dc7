from waitress import serve as waitress_serve

from inventory.app import create_app

application = create_app()

if __name__ == "__main__":
    waitress_serve(application, listen="0.0.0.0:8080", threads=4)
