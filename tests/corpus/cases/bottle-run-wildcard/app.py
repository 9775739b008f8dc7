from bottle import Bottle, request, run, template

app = Bottle()


@app.route("/hello/<name>")
def hello(name):
    return template("<b>Hello {{name}}</b>!", name=name)


@app.post("/echo")
def echo():
    return request.json


if __name__ == "__main__":
    run(app, host="0.0.0.0", port=8080)
