"""gRPC scenario for ks_grpc_python.pcap: one grpcio server + one client channel.

Usage: grpc_demo.py STUB_DIR PORT   (STUB_DIR holds demo_pb2*.py generated from
ks_grpc_python.proto). Server and client run in this process; the traffic is
plain h2c over TCP on 127.0.0.1:PORT (one connection).

Calls, in order (client stream ids 1,3,5,...):
  1  SayHello("world")                       unary, OK
  3  ServerStream("stream", count=3)         3 replies, OK
  5  ClientStream(a, b, c)                   1 reply, OK
  7  Bidi(x, y, z)                           ping-pong, 3 replies, OK
  9  SayHello("missing")                     immediate abort -> trailers-only
                                             NOT_FOUND, non-ASCII message (percent-encoded)
 11  SayHello(large, gzip)                   request and reply gzip-compressed (flag 1)
 13  ServerStream("fail", count=5)           2 replies then RESOURCE_EXHAUSTED in trailers
 15  SayHello("big", count=40)               ~40 KiB reply: DATA spans 3 frames / many segments
"""
import os
import sys
import time
from concurrent import futures

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import demo_pb2 as pb  # noqa: E402
import demo_pb2_grpc as rpc  # noqa: E402

PORT = int(sys.argv[2])


class Greeter(rpc.GreeterServicer):
    def SayHello(self, req, ctx):
        if req.name == "missing":
            ctx.abort(grpc.StatusCode.NOT_FOUND, "user 'missing' not found — übel 100% sure")
        if req.name.startswith("zip"):
            ctx.set_compression(grpc.Compression.Gzip)
            return pb.HelloReply(message="hello " + req.name, index=len(req.name))
        pad = "x" * (1024 * req.count) if req.count else ""
        return pb.HelloReply(message="Hello, %s!%s" % (req.name, pad))

    def ServerStream(self, req, ctx):
        for i in range(req.count):
            if req.name == "fail" and i == 2:
                ctx.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota exceeded after 2 replies")
            yield pb.HelloReply(message="%s #%d" % (req.name, i), index=i)

    def ClientStream(self, reqs, ctx):
        names = [r.name for r in reqs]
        return pb.HelloReply(message="got " + ",".join(names), index=len(names))

    def Bidi(self, reqs, ctx):
        for i, r in enumerate(reqs):
            yield pb.HelloReply(message="echo " + r.name, index=i)


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    rpc.add_GreeterServicer_to_server(Greeter(), server)
    server.add_insecure_port("127.0.0.1:%d" % PORT)
    server.start()
    # no keepalive / BDP pings so the capture holds only the calls
    opts = [("grpc.http2.bdp_probe", 0), ("grpc.keepalive_time_ms", 3600000),
            ("grpc.primary_user_agent", "ks-capture")]
    with grpc.insecure_channel("127.0.0.1:%d" % PORT, options=opts) as ch:
        stub = rpc.GreeterStub(ch)
        md = [("x-request-id", "ks-0001")]
        print(stub.SayHello(pb.HelloRequest(name="world"), metadata=md).message)
        print([r.message for r in stub.ServerStream(pb.HelloRequest(name="stream", count=3))])
        print(stub.ClientStream(iter([pb.HelloRequest(name=n) for n in "abc"])).message)
        print([r.message for r in stub.Bidi(iter([pb.HelloRequest(name=n) for n in "xyz"]))])
        try:
            stub.SayHello(pb.HelloRequest(name="missing"))
        except grpc.RpcError as e:
            print("error:", e.code(), e.details())
        big = "zip " + "compress me please " * 60
        r = stub.SayHello(pb.HelloRequest(name=big), compression=grpc.Compression.Gzip)
        print("gzip reply", len(r.message))
        got = []
        try:
            for r in stub.ServerStream(pb.HelloRequest(name="fail", count=5)):
                got.append(r.message)
        except grpc.RpcError as e:
            print("stream error after", got, e.code(), e.details())
        print("big reply", len(stub.SayHello(pb.HelloRequest(name="big", count=40)).message))
    time.sleep(0.3)
    server.stop(grace=1).wait()


if __name__ == "__main__":
    main()
