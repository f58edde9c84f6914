"""Materialises the user directory as another service would, with the
orchestrators' own Kafka client (kafka-python 2.0.2).

Usage: directory_consumer.py BOOTSTRAP TOPIC IDLE_SECONDS

Reads TOPIC from the beginning until nothing arrives for IDLE_SECONDS, keeping
each user's latest version: a value is the user's public view, a record
without one (a tombstone) removes the user. A record older than the latest
seen of its user must be a replay (a version already seen, with the same
value): the relay publishes at least once. Prints one JSON object:
{"directory": {id: view}, "records": n, "replays": n, "problems": [...]}.
"""
import json
import sys

from kafka import KafkaConsumer, TopicPartition


def main():
    bootstrap, topic, idle = sys.argv[1], sys.argv[2], float(sys.argv[3])
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        consumer_timeout_ms=int(idle * 1000),
        fetch_max_wait_ms=50,
    )
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)

    directory, latest, seen = {}, {}, {}
    records = replays = 0
    problems = []
    for message in consumer:
        records += 1
        key = message.key.decode("utf-8")
        headers = dict(message.headers or [])
        version = int(headers[u"version"].decode("ascii"))
        mine = seen.setdefault(key, {})
        if version <= latest.get(key, 0):
            replays += 1
            if mine.get(version, b"missing") != message.value:
                problems.append("%s: version %d after %d is not a replay" % (key, version, latest[key]))
            continue
        mine[version] = message.value
        latest[key] = version
        if message.value is None:
            directory.pop(key, None)
        else:
            view = json.loads(message.value)
            if view.get("version") != version or view.get("clerkUserId") != key:
                problems.append("%s: value does not match key and version header" % key)
            directory[key] = view
    consumer.close()
    print(json.dumps({"directory": directory, "records": records, "replays": replays,
                      "problems": problems}))


if __name__ == "__main__":
    main()
