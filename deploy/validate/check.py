"""Offline checks of the deployment files, run by scripts/validate-deploy.

    check.py compose COMPOSE_FILE SCHEMA_JSON
    check.py split RENDERED_YAML OUT_DIR     (writes one file per object, prints the list)
    check.py scaledobjects RENDERED_YAML     (prints the ScaledObjects as a JSON array)
    check.py keda-strict RENDERED_YAML       (unknown fields and wrong types fail)
    check.py keda-strict-selftest            (the strict check rejects known typos)
    check.py budget RENDERED_YAML            (PostgreSQL connections at full scale)
    check.py release RENDERED_YAML           (migration Job name matches the image tag)
    check.py monitoring MONITORING_YAML OVERLAY_YAML METRICS_RS RULES_YML DASHBOARD_JSON
                                             (alerts and dashboard name only metrics we export,
                                              the PrometheusRule equals the promtool-tested file,
                                              scrape targets name ports the Services have)
"""
import json
import pathlib
import sys

import jsonschema
import yaml


def compose(path, schema_path):
    doc = yaml.safe_load(open(path))
    schema = json.load(open(schema_path))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
    for e in errors:
        print(f"FAIL {path}: {'/'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"ok   {path} against the Compose Specification schema")


def split(rendered, out_dir):
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for i, doc in enumerate(d for d in yaml.safe_load_all(open(rendered)) if d):
        name = f"{i:02d}-{doc['kind']}-{doc['metadata']['name']}.yaml"
        (out / name).write_text(yaml.safe_dump(doc, sort_keys=False))
        print(f"  {doc['kind']}/{doc['metadata']['name']}")


def scaledobjects(rendered):
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d and d.get("kind") == "ScaledObject"]
    print(json.dumps(docs))


# KEDA's CRD schema leaves trigger metadata a free map of strings and accepts
# unknown fields, so a typo ("lagThreshhold", "maxReplicaCont", "kafak")
# validates and then silently does nothing. This schema is KEDA 2.x's, closed.
_INT = {"type": "integer", "minimum": 0}
_DIGITS = {"type": "string", "pattern": "^[0-9]+$"}
_KAFKA_METADATA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **{k: {"type": "string", "minLength": 1} for k in [
            "bootstrapServers", "bootstrapServersFromEnv", "consumerGroup",
            "consumerGroupFromEnv", "topic", "topicFromEnv", "version", "partitionLimitation",
            "sasl", "tls"]},
        "lagThreshold": _DIGITS,
        "activationLagThreshold": _DIGITS,
        "offsetResetPolicy": {"enum": ["earliest", "latest"]},
        **{k: {"enum": ["true", "false"]} for k in [
            "allowIdleConsumers", "excludePersistentLag", "scaleToZeroOnInvalidOffset",
            "limitToPartitionsWithLag", "ensureEvenDistributionOfPartitions", "unsafeSsl"]},
    },
    "oneOf": [{"required": ["bootstrapServers"]}, {"required": ["bootstrapServersFromEnv"]}],
}
_SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object", "additionalProperties": False, "required": ["name"],
                    "properties": {k: {"type": "string"} for k in
                                   ["name", "kind", "apiVersion", "envSourceContainerName"]},
                },
                **{k: _INT for k in ["pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
                                     "idleReplicaCount", "minReplicaCount", "maxReplicaCount"]},
                "fallback": {
                    "type": "object", "additionalProperties": False,
                    "required": ["failureThreshold", "replicas"],
                    "properties": {"failureThreshold": _INT, "replicas": _INT,
                                   "behavior": {"type": "string"}},
                },
                "advanced": {
                    "type": "object", "additionalProperties": False,
                    "properties": {
                        "restoreToOriginalReplicaCount": {"type": "boolean"},
                        "horizontalPodAutoscalerConfig": {
                            "type": "object", "additionalProperties": False,
                            "properties": {"name": {"type": "string"},
                                           "behavior": {"type": "object"}},
                        },
                        "scalingModifiers": {"type": "object"},
                    },
                },
                "triggers": {
                    "type": "array", "minItems": 1,
                    "items": {
                        "type": "object", "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"enum": ["kafka"]},
                            "name": {"type": "string"},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                            "authenticationRef": {
                                "type": "object", "additionalProperties": False,
                                "required": ["name"],
                                "properties": {"name": {"type": "string"},
                                               "kind": {"enum": ["TriggerAuthentication",
                                                                 "ClusterTriggerAuthentication"]}},
                            },
                            "metadata": _KAFKA_METADATA,
                        },
                    },
                },
            },
        },
    },
}


def _strict_errors(doc):
    v = jsonschema.Draft7Validator(_SCALED_OBJECT)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(doc)]


def keda_strict(rendered):
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    scaled = [d for d in docs if d.get("kind") == "ScaledObject"]
    auths = {d["metadata"]["name"] for d in docs if d.get("kind") == "TriggerAuthentication"}
    failed = False
    for doc in scaled:
        errors = _strict_errors(doc)
        for t in doc["spec"].get("triggers", []):
            ref = t.get("authenticationRef", {}).get("name")
            if ref and ref not in auths:
                errors.append(f"triggers: authenticationRef {ref} is not rendered")
        for e in errors:
            print(f"FAIL ScaledObject/{doc['metadata']['name']}: {e}", file=sys.stderr)
        failed |= bool(errors)
        if not errors:
            print(f"ok   ScaledObject/{doc['metadata']['name']} (strict)")
    if not scaled or failed:
        sys.exit(1)


def keda_strict_selftest():
    good = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "t"},
            "spec": {"scaleTargetRef": {"name": "w"}, "maxReplicaCount": 6,
                     "triggers": [{"type": "kafka", "metadata": {
                         "bootstrapServers": "k:9092", "consumerGroup": "g", "topic": "t",
                         "lagThreshold": "30000"}}]}}
    assert not _strict_errors(good), _strict_errors(good)
    import copy
    typos = []
    t = copy.deepcopy(good); t["spec"]["maxReplicaCont"] = t["spec"].pop("maxReplicaCount"); typos.append(("maxReplicaCont", t))
    t = copy.deepcopy(good); t["spec"]["triggers"][0]["metadata"]["lagThreshhold"] = "abc"; typos.append(("lagThreshhold: abc", t))
    t = copy.deepcopy(good); t["spec"]["triggers"][0]["metadata"]["lagThreshold"] = "abc"; typos.append(("lagThreshold: abc", t))
    t = copy.deepcopy(good); t["spec"]["triggers"][0]["type"] = "kafak"; typos.append(("type: kafak", t))
    t = copy.deepcopy(good); t["spec"]["maxReplicaCount"] = "6"; typos.append(("maxReplicaCount: \"6\"", t))
    for name, doc in typos:
        if not _strict_errors(doc):
            print(f"FAIL the strict ScaledObject check accepts {name}", file=sys.stderr)
            sys.exit(1)
        print(f"ok   the strict ScaledObject check rejects {name}")


def _surge(deployment, replicas):
    """Extra pods a rolling update may start (maxSurge, default 25 %, rounded up)."""
    surge = (deployment["spec"].get("strategy", {}).get("rollingUpdate", {}) or {}).get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return -(-replicas * int(surge[:-1]) // 100)
    return int(surge)


def budget(rendered):
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    by = lambda kind, name: next(d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name))
    config = by("ConfigMap", "userlib-config")
    data = config["data"]
    allowed = int(config["metadata"]["annotations"]["userlib.dev/postgres-connection-budget"])
    if data.get("DATABASE_POOLER") == "transaction":
        print("ok   behind a transaction pooler: the budget is the pooler's default_pool_size")
        return
    pool = int(data.get("DATABASE_POOL_SIZE", 8))
    shared = int(data.get("DATABASE_SHARED_READ_CLIENTS", 4))
    api_max = by("HorizontalPodAutoscaler", "user-api")["spec"]["maxReplicas"]
    api = api_max + _surge(by("Deployment", "user-api"), api_max)
    worker_max = by("ScaledObject", "user-worker")["spec"]["maxReplicaCount"]
    workers = worker_max + _surge(by("Deployment", "user-worker"), worker_max)
    total = api * (pool + shared) + workers * pool + 1
    line = (f"{api} API pods × ({pool} + {shared}) + {workers} workers × {pool} + 1 migration"
            f" = {total} connections, budget {allowed}")
    if total > allowed:
        print(f"FAIL {line}", file=sys.stderr)
        sys.exit(1)
    print(f"ok   {line}")


def release(rendered):
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    jobs = [d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith("userlib-migrate")]
    images = {c["image"] for d in docs if d["kind"] in ("Deployment", "Job")
              for c in d["spec"]["template"]["spec"]["containers"]}
    tags = {i.split("@")[0].rsplit(":", 1)[1] for i in images}
    if len(jobs) != 1 or len(tags) != 1:
        print(f"FAIL expected one migration Job and one image tag, got {len(jobs)} and {tags}", file=sys.stderr)
        sys.exit(1)
    name, tag = jobs[0]["metadata"]["name"], tags.pop()
    if name != f"userlib-migrate-{tag}":
        print(f"FAIL the migration Job {name} is not named after the release {tag}", file=sys.stderr)
        sys.exit(1)
    print(f"ok   Job/{name} belongs to release {tag}")


def monitoring(rendered, overlay, metrics_rs, rules_yml, dashboard_json):
    import re
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    services = [d for d in yaml.safe_load_all(open(overlay)) if d and d["kind"] == "Service"]
    exported = set(re.findall(r'pub const \w+: &str = "([a-z_]+)";', open(metrics_rs).read()))
    problems = []
    rule_file = yaml.safe_load(open(rules_yml))
    operator = next(d for d in docs if d["kind"] == "PrometheusRule")
    if operator["spec"]["groups"] != rule_file["groups"]:
        problems.append("PrometheusRule groups differ from " + rules_yml)
    dashboard = json.load(open(dashboard_json))
    exprs = [r["expr"] for g in rule_file["groups"] for r in g["rules"]]
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        problems.append("dashboard panel ids repeat")
    functions = {"sum", "rate", "increase", "histogram_quantile", "by", "le", "status", "state",
                 "outcome", "result", "op", "count", "avg", "max", "min"}
    for expr in exprs:
        for name in re.findall(r"\b([a-z_]+)(?=[{\[)\s]|$)", expr):
            if name in functions:
                continue
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in exported and base not in exported:
                problems.append(f"{name!r} is not a metric userlib exports (in {expr.strip()!r})")
    for monitor in (d for d in docs if d["kind"] == "ServiceMonitor"):
        wanted = monitor["spec"]["selector"]["matchLabels"]
        matches = [svc for svc in services
                   if all(svc["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())]
        ports = {p.get("name") for svc in matches for p in svc["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            if endpoint["port"] not in ports:
                problems.append(f"ServiceMonitor/{monitor['metadata']['name']}: no Service port {endpoint['port']!r}")
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"ok   {len(exprs)} alert and panel queries name exported metrics; PrometheusRule = {rules_yml}; scrape ports exist")


if __name__ == "__main__":
    {"compose": compose, "split": split, "scaledobjects": scaledobjects,
     "keda-strict": keda_strict, "keda-strict-selftest": keda_strict_selftest,
     "budget": budget, "release": release, "monitoring": monitoring}[sys.argv[1]](*sys.argv[2:])
