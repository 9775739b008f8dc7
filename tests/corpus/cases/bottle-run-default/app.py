import bottle

app = bottle.default_app()


@app.route("/")
def index():
    return "todo list"


if __name__ == "__main__":
    bottle.run(app, port=8080, reloader=True, debug=True)
