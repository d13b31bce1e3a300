"""GraphQL scenario for ks_graphql_strawberry.pcap (strawberry-graphql ASGI app under uvicorn).

Usage: gql_demo.py serve PORT     run the server on 127.0.0.1:PORT (uvicorn)
       gql_demo.py client PORT    run the client requests below

Server: /graphql = strawberry GraphQL (queries via GET allowed, batching enabled,
graphql-transport-ws subscriptions); /echo = plain JSON echo endpoint (not GraphQL).

Client, one HTTP/1.1 keep-alive connection (http.client):
  1 POST named query with variables        operationName BooksBy
  2 POST mutation with variables           operationName AddBook
  3 POST anonymous shorthand query         { hello }
  4 GET  /graphql?query=...&operationName=BookByTitle&variables=...
  5 POST query whose resolver raises       -> 200, data null + errors
  6 POST query with an unknown field       -> validation error
  7 POST batch (JSON array of 2 operations) -> JSON array of 2 results
  8 POST /echo {"query": "SELECT ..."}     -> JSON with a "query" key that is not GraphQL
then a second connection: WebSocket subprotocol graphql-transport-ws (no compression):
  connection_init -> connection_ack, subscribe id 1 (countdown from 3) -> next x4 -> complete,
  ping -> pong, close 1000.
"""
import asyncio
import json
import sys
import urllib.parse
from typing import AsyncGenerator, List, Optional

import strawberry
from strawberry.asgi import GraphQL
from strawberry.schema.config import StrawberryConfig
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL


@strawberry.type
class Book:
    title: str
    author: str
    year: int


BOOKS = [Book(title="Dune", author="Frank Herbert", year=1965),
         Book(title="The Dispossessed", author="Ursula K. Le Guin", year=1974),
         Book(title="The Left Hand of Darkness", author="Ursula K. Le Guin", year=1969)]


@strawberry.type
class Query:
    @strawberry.field
    def books(self, author: Optional[str] = None) -> List[Book]:
        return [b for b in BOOKS if author is None or b.author == author]

    @strawberry.field
    def book(self, title: str) -> Optional[Book]:
        return next((b for b in BOOKS if b.title == title), None)

    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return "Hello, %s!" % name

    @strawberry.field
    def fail(self) -> str:
        raise ValueError("backend unavailable: db timeout")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def add_book(self, title: str, author: str, year: int) -> Book:
        b = Book(title=title, author=author, year=year)
        BOOKS.append(b)
        return b


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def countdown(self, start: int) -> AsyncGenerator[int, None]:
        for i in range(start, -1, -1):
            yield i
            await asyncio.sleep(0.02)


schema = strawberry.Schema(Query, Mutation, Subscription,
                           config=StrawberryConfig(batching_config={"max_operations": 5}))
graphql_app = GraphQL(schema, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])


async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/echo":
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        out = json.dumps({"echo": json.loads(body or b"null")}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"%d" % len(out))]})
        await send({"type": "http.response.body", "body": out})
        return
    await graphql_app(scope, receive, send)


def serve(port):
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning",
                ws="websockets", ws_per_message_deflate=False)


def client(port):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port)

    def post(path, doc):
        conn.request("POST", path, body=json.dumps(doc),
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        r = conn.getresponse()
        print("POST", path, r.status, r.read()[:120])

    post("/graphql", {"query": "query BooksBy($author: String) { books(author: $author) { title year } }",
                      "operationName": "BooksBy", "variables": {"author": "Ursula K. Le Guin"}})
    post("/graphql", {"query": "mutation AddBook($title: String!, $author: String!, $year: Int!) "
                               "{ addBook(title: $title, author: $author, year: $year) { title author } }",
                      "operationName": "AddBook",
                      "variables": {"title": "Solaris", "author": "Stanisław Lem", "year": 1961}})
    post("/graphql", {"query": "{ hello }"})
    q = urllib.parse.urlencode({"query": "query BookByTitle($t: String!) { book(title: $t) { author year } }",
                                "operationName": "BookByTitle", "variables": json.dumps({"t": "Dune"})})
    conn.request("GET", "/graphql?" + q, headers={"Accept": "application/json"})
    r = conn.getresponse()
    print("GET", r.status, r.read()[:120])
    post("/graphql", {"query": "query Broken { hello fail }", "operationName": "Broken"})
    post("/graphql", {"query": "{ nosuchfield }"})
    post("/graphql", [{"query": "query One { hello(name: \"one\") }", "operationName": "One"},
                      {"query": "query Two { books { title } }", "operationName": "Two"}])
    post("/echo", {"query": "SELECT title FROM books WHERE year < 1970", "note": "not GraphQL"})
    conn.close()
    asyncio.run(subscribe(port))


async def subscribe(port):
    from websockets.asyncio.client import connect
    async with connect("ws://127.0.0.1:%d/graphql" % port, subprotocols=["graphql-transport-ws"],
                       compression=None, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        print(await ws.recv())
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription Countdown($from: Int!) { countdown(start: $from) }",
            "operationName": "Countdown", "variables": {"from": 3}}}))
        while True:
            m = json.loads(await ws.recv())
            print(m)
            if m["type"] in ("complete", "error"):
                break
        await ws.send(json.dumps({"type": "ping"}))
        print(await ws.recv())
        await ws.close(1000, "done")


if __name__ == "__main__":
    {"serve": serve, "client": client}[sys.argv[1]](int(sys.argv[2]))
