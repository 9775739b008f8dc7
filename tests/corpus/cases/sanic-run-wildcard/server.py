from sanic import Sanic
from sanic.response import json

app = Sanic("thumbnails")


@app.get("/thumb/<name>")
async def thumb(request, name: str):
    return json({"name": name, "size": [128, 128]})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000, workers=2, access_log=False)
