"""A stand-in for unpkg.com in the /docs browser test (tests/api/browser.rs).

Serves the npm package swagger-ui-dist (unpacked at SWAGGER_UI_DIST) over HTTPS
at /swagger-ui-dist@<version>/<file>, with the content types and the
Access-Control-Allow-Origin header the CDN sends: the page loads both files
with crossorigin="anonymous" and Subresource Integrity, so the browser checks
the real files' hashes. Chromium is pointed here with --host-resolver-rules.

Usage: cdn_standin.py CERT KEY PORT_FILE   (prints nothing; writes its port)
"""

import http.server
import os
import ssl
import sys

DIST = os.environ["SWAGGER_UI_DIST"]
TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        name = self.path.split("?")[0].rsplit("/", 1)[-1]
        path = os.path.join(DIST, name)
        if not self.path.startswith("/swagger-ui-dist@") or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(os.path.splitext(name)[1], "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    cert, key, port_file = sys.argv[1:4]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
