"""A server of url inputs for the tests, on 127.0.0.1 only.

Usage: input_server.py FOLDER PORT_FILE LOG_FILE

Writes its port to PORT_FILE once it listens, appends each request's path to LOG_FILE, exits
when its parent does, and answers GET:

  /files/NAME        the file FOLDER/NAME with its Content-Length (404 when missing)
  /redirect?to=URL   302 to URL
  /chain/N/NAME      302 to /chain/N-1/NAME; /chain/0/NAME redirects to /files/NAME
  /chunked/SIZE      SIZE bytes, chunked: no Content-Length announces them
  /stall             a head announcing 10 bytes, 2 of them, then nothing for a long while
  /truncated         a head announcing 10 bytes, 2 of them, then the connection closes
  /hang-up           no answer: the connection closes
  /stall-head        nothing at all for a long while
"""

import http.server
import os
import sys
import threading
import time
import urllib.parse

STALL_SECONDS = 120


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        with open(sys.argv[3], "a") as log:
            log.write(self.path + "\n")
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if parts[0] == "files" and len(parts) == 2:
            self.file(os.path.join(sys.argv[1], parts[1]))
        elif parts[0] == "redirect":
            self.redirect(urllib.parse.parse_qs(url.query)["to"][0])
        elif parts[0] == "chain" and len(parts) == 3:
            hops = int(parts[1])
            self.redirect(f"/chain/{hops - 1}/{parts[2]}" if hops > 0 else f"/files/{parts[2]}")
        elif parts[0] == "chunked" and len(parts) == 2:
            self.chunked(int(parts[1]))
        elif parts[0] == "stall":
            self.two_of_ten_bytes()
            time.sleep(STALL_SECONDS)
        elif parts[0] == "truncated":
            self.two_of_ten_bytes()
            self.close_connection = True
        elif parts[0] == "hang-up":
            self.close_connection = True
        elif parts[0] == "stall-head":
            time.sleep(STALL_SECONDS)
        else:
            self.send_error(404)

    def file(self, path):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def two_of_ten_bytes(self):
        """A head announcing 10 bytes, and the first 2 of them."""
        self.send_response(200)
        self.send_header("Content-Length", "10")
        self.end_headers()
        self.wfile.write(b"ab")
        self.wfile.flush()

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def chunked(self, size):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 65536
        while size > 0:
            part = chunk[: min(size, len(chunk))]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            size -= len(part)
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format, *args):
        pass


def exit_with_parent(parent):
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main():
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    server.serve_forever()


if __name__ == "__main__":
    main()
