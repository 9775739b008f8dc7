import logging

from waitress import serve

from app import create_app

logging.basicConfig(level=logging.INFO)
app = create_app()

serve(app, listen="*:8080", url_scheme="https")
