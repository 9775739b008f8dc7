from sanic import Sanic
from sanic.response import text

app = Sanic("Hello")


@app.get("/")
async def hello(request):
    return text("hi")


if __name__ == "__main__":
    app.run(port=8000, dev=True)
