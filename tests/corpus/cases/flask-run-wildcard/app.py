from flask import Flask, jsonify, request

app = Flask(__name__)

ITEMS = [{"id": 1, "name": "widget"}, {"id": 2, "name": "gadget"}]


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/api/items")
def items():
    q = request.args.get("q", "")
    return jsonify(items=[i for i in ITEMS if q in i["name"]])


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
