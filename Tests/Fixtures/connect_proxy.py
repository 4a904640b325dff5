"""A proxy that only tunnels, for the download tests, on 127.0.0.1 only: HTTP's CONNECT, and
SOCKS5's (without authentication) on the same port.

Usage: connect_proxy.py PORT_FILE LOG_FILE

Writes its port to PORT_FILE once it listens, appends each tunnel asked for to LOG_FILE
("CONNECT HOST:PORT" with the Proxy-Authorization header or "-", or "SOCKS5 HOST:PORT"), and
tunnels bytes both ways. It connects to 127.0.0.1 whatever host is asked for, so a test can name
a host that resolves nowhere and still be served: it sees the name only through the proxy.
"""

import os
import socket
import socketserver
import sys
import threading


class Tunnel(socketserver.StreamRequestHandler):
    def handle(self):
        if self.rfile.peek(1)[:1] == b"\x05":
            self.socks5()
            return
        request = self.rfile.readline().decode("latin-1").split()
        headers = {}
        while (line := self.rfile.readline().decode("latin-1").strip()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        with open(sys.argv[2], "a") as log:
            log.write(f"{' '.join(request[:2])} {headers.get('proxy-authorization', '-')}\n")
        if len(request) < 2 or request[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = socket.create_connection(("127.0.0.1", int(request[1].rsplit(":", 1)[1])))
        self.wfile.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        self.tunnel(upstream)

    def socks5(self):
        methods = self.rfile.read(2)[1]
        self.rfile.read(methods)
        self.wfile.write(b"\x05\x00")
        self.wfile.flush()
        _, _, _, kind = self.rfile.read(4)
        if kind == 3:
            host = self.rfile.read(self.rfile.read(1)[0]).decode()
        else:
            host = socket.inet_ntop(socket.AF_INET if kind == 1 else socket.AF_INET6, self.rfile.read(4 if kind == 1 else 16))
        port = int.from_bytes(self.rfile.read(2), "big")
        with open(sys.argv[2], "a") as log:
            log.write(f"SOCKS5 {host}:{port}\n")
        upstream = socket.create_connection(("127.0.0.1", port))
        self.wfile.write(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
        self.tunnel(upstream)

    def tunnel(self, upstream):
        self.wfile.flush()
        threading.Thread(target=pump, args=(upstream, self.connection), daemon=True).start()
        pump(self.connection, upstream)


def pump(source, sink):
    try:
        while (data := source.recv(65536)):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Tunnel)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
