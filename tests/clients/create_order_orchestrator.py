"""The create-order saga orchestrator's Kafka side, as the running one does it.

It uses the orchestrators' own client (kafka-python 2.0.2, as their
requirements.txt pins it) the way their KafkaClient does: a JSON value
serializer, no key, no headers, a naive `datetime.utcnow().isoformat()`
timestamp, `flush()` after every send; replies are read by a consumer in its own
group from the earliest offset and matched by `correlation_id`.

Usage: python create_order_orchestrator.py BOOTSTRAP COMMANDS EVENTS GROUP TIMEOUT_S
Reads `[[correlation_id, user_id], ...]` on stdin; prints
`{correlation_id: [{"type", "payload"}, ...]}` (every reply seen for it) on stdout.
"""

import json
import sys
import time
import uuid
from datetime import datetime

from kafka import KafkaConsumer, KafkaProducer


class UUIDEncoder(json.JSONEncoder):
    def default(self, obj):
        if isinstance(obj, uuid.UUID):
            return str(obj)
        return super().default(obj)


def main():
    bootstrap, commands_topic, events_topic, group, timeout_s = sys.argv[1:6]
    commands = json.load(sys.stdin)

    # The consumer joins first, as the orchestrator's does at start-up.
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        value_deserializer=lambda m: json.loads(m.decode("utf-8")),
    )
    consumer.subscribe([events_topic])

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        value_serializer=lambda v: json.dumps(v, cls=UUIDEncoder).encode("utf-8"),
    )
    for correlation_id, user_id in commands:
        message = {
            "type": "get_payment_info",
            "correlation_id": correlation_id,
            "timestamp": datetime.utcnow().isoformat(),
            "payload": {"user_id": user_id},
        }
        producer.send(commands_topic, message)
        producer.flush()

    wanted = {c for c, _ in commands}
    seen = {}
    deadline = time.monotonic() + float(timeout_s)
    while time.monotonic() < deadline and not wanted.issubset(seen):
        batch = consumer.poll(timeout_ms=500)
        for messages in batch.values():
            for message in messages:
                value = message.value
                # The orchestrator's _process_message reads exactly these.
                correlation_id = value.get("correlation_id")
                seen.setdefault(correlation_id, []).append(
                    {"type": value.get("type"), "payload": value.get("payload", {})}
                )
    consumer.close()
    producer.close()
    json.dump(seen, sys.stdout)


if __name__ == "__main__":
    main()
