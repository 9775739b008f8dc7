#!/usr/bin/env python2
import SimpleHTTPServer
import SocketServer
import sys

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8000

Handler = SimpleHTTPServer.SimpleHTTPRequestHandler
httpd = SocketServer.TCPServer(("0.0.0.0", PORT), Handler)

print "serving at port", PORT
try:
    httpd.serve_forever()
except KeyboardInterrupt, e:
    print "bye"
