import asyncio

import tornado.web


class Handler(tornado.web.RequestHandler):
    def get(self):
        self.write("local only")


async def main():
    app = tornado.web.Application([(r"/", Handler)])
    app.listen(8888, address="127.0.0.1")
    await asyncio.Event().wait()


asyncio.run(main())
