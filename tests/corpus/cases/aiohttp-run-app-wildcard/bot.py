import os

from aiohttp import web


async def webhook(request: web.Request) -> web.Response:
    update = await request.json()
    print("update", update.get("update_id"))
    return web.Response(status=200)


app = web.Application()
app.router.add_post("/webhook", webhook)

if __name__ == "__main__":
    web.run_app(app, host="0.0.0.0", port=int(os.environ.get("PORT", 8080)))
