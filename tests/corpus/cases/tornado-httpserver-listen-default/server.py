import tornado.httpserver
import tornado.ioloop
import tornado.web
from tornado.options import define, options, parse_command_line

define("port", default=8000, help="run on the given port", type=int)


class StatusHandler(tornado.web.RequestHandler):
    def get(self):
        self.write({"status": "ok"})


def main():
    parse_command_line()
    application = tornado.web.Application([(r"/status", StatusHandler)])
    http_server = tornado.httpserver.HTTPServer(application, xheaders=True)
    http_server.listen(options.port)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
