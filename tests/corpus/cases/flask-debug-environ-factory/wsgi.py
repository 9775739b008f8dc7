import os

from web import create_app

os.environ["FLASK_DEBUG"] = "1"
web = create_app()

if __name__ == "__main__":
    web.run(host="0.0.0.0", port=int(os.environ.get("PORT", 5000)))
