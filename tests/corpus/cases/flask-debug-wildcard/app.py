from flask import Flask, abort, jsonify

from store import get_user

app = Flask(__name__)
app.config["JSON_SORT_KEYS"] = False


@app.get("/users/<int:user_id>")
def user(user_id: int):
    u = get_user(user_id)
    if u is None:
        abort(404)
    return jsonify(u)


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000, debug=True)
