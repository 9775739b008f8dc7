from aiohttp import web


async def handle(request):
    return web.json_response({"ok": True})


app = web.Application()
app.add_routes([web.get("/", handle)])

if __name__ == "__main__":
    web.run_app(app, host="localhost", port=8080)
