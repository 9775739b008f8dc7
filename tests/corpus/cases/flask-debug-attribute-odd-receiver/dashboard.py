from flask import Flask, render_template

server = Flask(__name__)
server.debug = True


@server.route("/")
def overview():
    return render_template("overview.html", stats={"users": 10})


@server.route("/metrics")
def metrics():
    return {"requests": 1234}


if __name__ == "__main__":
    server.run(host="0.0.0.0", port=8050)
