from flask import Flask, jsonify

HOST = "0.0.0.0"
PORT = 8000

api = Flask("inventory-api")
api.config["DEBUG"] = True
api.config["SECRET_KEY"] = "dev"


@api.get("/stock/<sku>")
def stock(sku: str):
    return jsonify(sku=sku, count=3)


if __name__ == "__main__":
    api.run(host=HOST, port=PORT)
