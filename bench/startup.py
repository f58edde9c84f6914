"""Start-up time: from process start to what an autoscaler waits for —
user-api's /ready 200, user-worker's /ready 200 (partitions assigned, database
reachable). Run by bench/startup.sh; prints a markdown table.

    python3 bench/startup.py API_BINARY WORKER_BINARY DATABASE_URL RUNS
"""
import os
import socket
import subprocess
import sys
import time
import http.client
import uuid


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def time_to_ready(cmd, env, port, timeout=60.0):
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - started < timeout:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/ready")
                if conn.getresponse().status == 200:
                    return (time.monotonic() - started) * 1000
            except OSError:
                pass
            time.sleep(0.002)
        raise SystemExit(f"{cmd[0]} not ready within {timeout} s")
    finally:
        proc.terminate()
        proc.wait()


def main(api, worker, url, runs):
    api_ms, worker_ms = [], []
    for _ in range(int(runs)):
        port = free_port()
        api_ms.append(time_to_ready([api], {"DATABASE_URL": url, "AUTH_MODE": "none", "MIGRATE_ON_START": "false",
                                            "LISTEN_ADDR": f"127.0.0.1:{port}", "RUST_LOG": "warn"}, port))
        topic = f"st_{uuid.uuid4().hex}"
        kafka = {"KAFKA_USER_COMMANDS_TOPIC": f"{topic}_cmd", "KAFKA_USER_EVENTS_TOPIC": f"{topic}_evt",
                 "KAFKA_DLQ_TOPIC": f"{topic}_dlq", "KAFKA_USER_DIRECTORY_TOPIC": f"{topic}_dir",
                 "KAFKA_USER_SERVICE_GROUP_ID": f"{topic}_grp", "RUST_LOG": "warn"}
        subprocess.run([worker, "create-topics", "6"], env={**os.environ, **kafka}, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        worker_ms.append(time_to_ready([worker], {**kafka, "DATABASE_URL": url,
                                                  "WORKER_HTTP_ADDR": f"127.0.0.1:{port}"}, port))
    med = lambda xs: sorted(xs)[len(xs) // 2]
    print(f"\n{runs} runs each; database and broker already up.\n")
    print("| process | ready after (median) | min – max | target |")
    print("|---|---|---|---|")
    print(f"| user-api → /ready 200 | **{med(api_ms):.0f} ms** | {min(api_ms):.0f} – {max(api_ms):.0f} ms | ≤ 100 ms |")
    print(f"| user-worker → partitions assigned (/ready 200) | **{med(worker_ms):.0f} ms** | "
          f"{min(worker_ms):.0f} – {max(worker_ms):.0f} ms | (consumer-group join) |")


if __name__ == "__main__":
    main(*sys.argv[1:])
