"""kafka_demo.py BOOTSTRAP — the kafka-python part of kafka_scenario.sh.

Each step is one thing an application does; the broker's answers (including errors) are
part of the capture on purpose.
"""
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError

bootstrap = sys.argv[1]

admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ks-admin")
admin.create_topics([NewTopic("orders", num_partitions=3, replication_factor=1)])
try:
    # Second time: TOPIC_ALREADY_EXISTS (36) in the CreateTopics response.
    admin.create_topics([NewTopic("orders", num_partitions=3, replication_factor=1)])
except KafkaError as e:
    print("create again:", type(e).__name__)

producer = KafkaProducer(
    bootstrap_servers=bootstrap,
    client_id="ks-producer",
    acks="all",
    compression_type="gzip",
    linger_ms=20,
)
for i in range(5):
    producer.send(
        "orders",
        key=f"customer-{i % 2}".encode(),
        value=f'{{"order": {i}, "item": "book", "qty": {i + 1}}}'.encode(),
        headers=[("trace-id", f"t-{i}".encode()), ("source", b"ks-demo")],
        partition=i % 3,
    )
producer.flush()
producer.close()

# acks=0: Produce requests that get no response.
fire = KafkaProducer(bootstrap_servers=bootstrap, client_id="ks-fire-and-forget", acks=0)
for i in range(2):
    fire.send("orders", value=f"no ack {i}".encode(), partition=0)
fire.flush()
time.sleep(0.2)
fire.close()

# One batch for each other codec kafka-python has (snappy, lz4, zstd) on a topic of its own
# (Tansu does not create topics on first use).
admin.create_topics([NewTopic("codecs", num_partitions=1, replication_factor=1)])
for codec in ("snappy", "lz4", "zstd"):
    p = KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=f"ks-{codec}",
        compression_type=codec,
        linger_ms=50,
    )
    for i in range(3):
        p.send("codecs", key=f"k{i}".encode(), value=f"compressed with {codec}, record {i}".encode())
    p.flush()
    p.close()

consumer = KafkaConsumer(
    "orders",
    "codecs",
    bootstrap_servers=bootstrap,
    client_id="ks-consumer",
    group_id="ks-demo",
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    consumer_timeout_ms=3000,
)
seen = 0
for _ in consumer:
    seen += 1
    if seen >= 16:
        break
consumer.commit()
print("consumed", seen)
print("committed", consumer.committed(TopicPartition("orders", 0)))
consumer.close()

# Metadata for a topic that does not exist (no auto-creation asked).
try:
    meta = KafkaConsumer(bootstrap_servers=bootstrap, client_id="ks-meta")
    print("partitions of missing:", meta.partitions_for_topic("no-such-topic"))
    meta.close()
except KafkaError as e:
    print("missing topic:", type(e).__name__)

admin.delete_topics(["orders", "codecs"])
admin.close()
