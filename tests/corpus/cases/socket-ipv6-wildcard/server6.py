import socket
import ssl

ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain("cert.pem", "key.pem")

sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
sock.bind(("::", 8443))
sock.listen(64)
with ctx.wrap_socket(sock, server_side=True) as tls:
    conn, addr = tls.accept()
    conn.sendall(b"hello\n")
