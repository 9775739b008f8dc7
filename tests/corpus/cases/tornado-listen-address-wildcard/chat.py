import asyncio

import tornado.web
import tornado.websocket

clients = set()


class ChatSocket(tornado.websocket.WebSocketHandler):
    def open(self):
        clients.add(self)

    def on_message(self, message):
        for c in clients:
            c.write_message(message)

    def on_close(self):
        clients.discard(self)


async def main(port: int = 9000):
    app = tornado.web.Application([(r"/chat", ChatSocket)])
    app.listen(port, address="0.0.0.0")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
