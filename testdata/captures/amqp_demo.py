#!/usr/bin/env python3
"""amqp_demo.py PORT — pika (BlockingConnection) client for make-amqp.sh.

One AMQP 0-9-1 connection to RabbitMQ on 127.0.0.1:PORT:
  channel 1: exchange.declare (direct), queue.declare, queue.bind, 3 basic.publish
             (the 2nd with full basic properties + headers table), basic.qos,
             basic.consume -> 3 basic.deliver each answered by basic.ack,
             basic.cancel, one more publish + basic.get (get-ok), basic.get on the
             empty queue (get-empty), publish mandatory=True to an unroutable key
             (basic.return NO_ROUTE), queue.delete, exchange.delete, channel.close
  channel 2: queue.declare passive of a missing queue -> channel.close 404 NOT_FOUND
  channel 3: confirm.select, publish -> basic.ack from the server, channel.close
then connection.close.
"""
import decimal
import sys
import time

import pika

port = int(sys.argv[1])
params = pika.ConnectionParameters(host="127.0.0.1", port=port,
                                   credentials=pika.PlainCredentials("guest", "guest"),
                                   client_properties={"connection_name": "ks-amqp-demo"})
conn = pika.BlockingConnection(params)

ch = conn.channel()
ch.exchange_declare("ks.direct", exchange_type="direct", durable=False, auto_delete=False)
ch.queue_declare("ks.queue", durable=False, exclusive=False, auto_delete=False)
ch.queue_bind("ks.queue", "ks.direct", routing_key="ks.key")

ch.basic_publish("ks.direct", "ks.key", b"first message")
props = pika.BasicProperties(
    content_type="application/json", content_encoding="utf-8", delivery_mode=2,
    priority=5, correlation_id="corr-42", reply_to="ks.replies", expiration="60000",
    message_id="msg-0002", timestamp=1700000000, type="ks.demo", user_id="guest",
    app_id="amqp_demo.py",
    headers={"x-str": "hello", "x-int": 42, "x-bool": True, "x-decimal": decimal.Decimal("1.50"),
             "x-list": [1, "two"], "x-nested": {"k": "v"}})
ch.basic_publish("ks.direct", "ks.key", b'{"n": 2, "text": "with properties"}', props)
ch.basic_publish("ks.direct", "ks.key", b"third message " + b"x" * 3000)  # body frame > 1 segment

ch.basic_qos(prefetch_count=10)
got = []
def on_msg(chan, method, properties, body):
    got.append(body)
    chan.basic_ack(method.delivery_tag)
tag = ch.basic_consume("ks.queue", on_msg, consumer_tag="ks-consumer")
deadline = time.time() + 5
while len(got) < 3 and time.time() < deadline:
    conn.process_data_events(time_limit=0.2)
ch.basic_cancel(tag)
assert len(got) == 3, got

ch.basic_publish("ks.direct", "ks.key", b"fetched with basic.get")
time.sleep(0.1)
method, properties, body = ch.basic_get("ks.queue", auto_ack=True)
assert body == b"fetched with basic.get", body
method, properties, body = ch.basic_get("ks.queue", auto_ack=False)
assert method is None  # basic.get-empty

returned = []
ch.add_on_return_callback(lambda c, m, p, b: returned.append(m.reply_code))
ch.basic_publish("ks.direct", "no.such.key", b"nobody wants me", mandatory=True)
deadline = time.time() + 5
while not returned and time.time() < deadline:
    conn.process_data_events(time_limit=0.2)
assert returned == [312], returned

ch.queue_delete("ks.queue")
ch.exchange_delete("ks.direct")
ch.close()

ch2 = conn.channel()
try:
    ch2.queue_declare("ks.missing", passive=True)
    raise SystemExit("passive declare of a missing queue succeeded")
except pika.exceptions.ChannelClosedByBroker as e:
    assert e.reply_code == 404, e

ch3 = conn.channel()
ch3.confirm_delivery()
ch3.queue_declare("ks.confirm", auto_delete=True)
ch3.basic_publish("", "ks.confirm", b"confirmed message")  # blocks until basic.ack
ch3.queue_delete("ks.confirm")
ch3.close()
conn.close()
print("amqp_demo: ok, %d deliveries" % len(got))
