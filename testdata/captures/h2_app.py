"""Tiny ASGI app served by hypercorn for the HTTP/2 captures.

  GET  /index.html  small HTML page
  GET  /style.css   small CSS
  GET  /big.txt     200 KiB of numbered text lines (many DATA frames / TCP segments)
  POST /api/echo    echoes the request body with the request's content-type
  anything else     404 text/plain
  websocket /ws     echo (used over RFC 8441 extended CONNECT)
"""
INDEX = (b'<!doctype html>\n<html><head><title>ks h2c</title><link rel="stylesheet" href="/style.css">'
         b'</head><body><h1>hello over h2c</h1></body></html>\n')
CSS = b"body { font-family: sans-serif; color: #123; }\n"
BIG = b"".join(b"%06d the quick brown fox jumps over the lazy dog 0123456789\n" % i
               for i in range(3277))  # 3277 * 64 = 209728 bytes


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            msg = await receive()
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("text") is not None:
                await send({"type": "websocket.send", "text": msg["text"]})
            else:
                await send({"type": "websocket.send", "bytes": msg["bytes"]})
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    path, method = scope["path"], scope["method"]
    ctype = b"text/plain"
    status = 200
    if path == "/index.html":
        out, ctype = INDEX, b"text/html"
    elif path == "/style.css":
        out, ctype = CSS, b"text/css"
    elif path == "/big.txt":
        out = BIG
    elif path == "/api/echo" and method == "POST":
        out = body
        ctype = dict(scope["headers"]).get(b"content-type", b"application/octet-stream")
    else:
        status, out = 404, b"not found: " + path.encode() + b"\n"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", b"%d" % len(out))]})
    await send({"type": "http.response.body", "body": out})
