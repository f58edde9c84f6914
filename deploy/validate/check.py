"""Offline checks of the deployment files, run by scripts/validate-deploy.

    check.py compose COMPOSE_FILE SCHEMA_JSON
    check.py split RENDERED_YAML OUT_DIR     (writes one file per object, prints the list)
    check.py scaledobjects RENDERED_YAML     (prints the ScaledObjects as a JSON array)
    check.py keda-strict RENDERED_YAML       (unknown fields and wrong types fail)
    check.py keda-strict-selftest            (the strict check rejects known typos)
    check.py budget RENDERED_YAML            (PostgreSQL connections at full scale)
    check.py release RENDERED_YAML           (migration Job name matches the image tag)
    check.py policy RENDERED_YAML [prod]     (the production rules each reviewed defect broke)
    check.py policy-selftest RENDERED_YAML   (re-introduces each defect; the policy must fail)
    check.py monitoring MONITORING_YAML OVERLAY_YAML METRICS_RS RULES_YML DASHBOARD_JSON
                                             (alerts and dashboard name only metrics we export,
                                              the PrometheusRule equals the promtool-tested file,
                                              scrape targets name ports the Services have)
"""
import json
import pathlib
import re
import sys

import jsonschema
import yaml

# The strict ScaledObject schema is long enough for a file of its own.
from keda import keda_strict, keda_strict_selftest

def _verdict(problems, ok):
    """Every problem as a FAIL line and exit 1, or the one ok line."""
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"ok   {ok}")

def compose(path, schema_path):
    doc = yaml.safe_load(open(path))
    schema = json.load(open(schema_path))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
    _verdict([f"{path}: {'/'.join(map(str, e.path))}: {e.message}" for e in errors],
             f"{path} against the Compose Specification schema")

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
    shared = int(data.get("DATABASE_SHARED_READ_CLIENTS", 2))
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

def _by(docs, kind, prefix):
    return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(prefix)), None)

def _container(deployment):
    return deployment["spec"]["template"]["spec"]["containers"][0]

def policy_errors(docs, prod):
    """Each rule is a defect found in review (issue #13), kept from coming back."""
    errors = []
    api, worker = _by(docs, "Deployment", "user-api"), _by(docs, "Deployment", "user-worker")
    so = _by(docs, "ScaledObject", "user-worker")
    config = _by(docs, "ConfigMap", "userlib-config")
    for d in (api, worker):
        if "replicas" in d["spec"]:
            errors.append(f"Deployment/{d['metadata']['name']} sets spec.replicas (its autoscaler owns it)")
        spread = d["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
        keys = {c["topologyKey"] for c in spread}
        if not {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys:
            errors.append(f"Deployment/{d['metadata']['name']} does not spread over nodes and zones")
    trigger = so["spec"]["triggers"][0]
    meta = trigger["metadata"]
    for key in ("bootstrapServers", "consumerGroup", "topic"):
        if key in meta or f"{key}FromEnv" not in meta:
            errors.append(f"ScaledObject reads {key} from its own copy, not the worker's env ({key}FromEnv)")
    if "authenticationRef" not in trigger or not _by(docs, "TriggerAuthentication", trigger.get("authenticationRef", {}).get("name", "?")):
        errors.append("ScaledObject has no TriggerAuthentication for a secured broker")
    if "fallback" not in so["spec"]:
        errors.append("ScaledObject has no fallback: a failing scaler freezes the worker count")
    if "cooldownPeriod" in so["spec"] and so["spec"].get("minReplicaCount", 0) >= 1:
        errors.append("ScaledObject sets cooldownPeriod, which only acts on scale-to-zero")
    if int(meta.get("lagThreshold", "0")) < 10000:
        errors.append("lagThreshold below 10000 scales on commit timing, not backlog (docs/operations.md arithmetic)")
    behavior = so["spec"].get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior", {})
    if "scaleDown" not in behavior:
        errors.append("ScaledObject has no HPA scale-down behaviour (every step is a rebalance)")
    if prod and so["spec"].get("minReplicaCount", 1) < 2:
        errors.append("production keeps fewer than two workers")
    api_c = _container(api)
    pre_stop = api_c.get("lifecycle", {}).get("preStop", {})
    pause = pre_stop.get("sleep", {}).get("seconds", 0)
    drain = int(config["data"].get("SHUTDOWN_TIMEOUT_SECS", 20))
    if pause < 1:
        errors.append("user-api has no preStop pause: SIGTERM closes the listener before endpoints update")
    if api["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30) <= pause + drain:
        errors.append("user-api's grace period does not cover preStop pause + drain")
    if "startupProbe" not in _container(worker):
        errors.append("user-worker has no startupProbe")
    jobs = [d for d in docs if d["kind"] == "Job"]
    for job in jobs:
        refs = [e.get("configMapRef") for e in _container(job).get("envFrom", [])]
        if any(refs):
            errors.append(f"Job/{job['metadata']['name']} reads the generated ConfigMap (its hash breaks the immutable template)")
    if config["metadata"]["name"] == "userlib-config":
        errors.append("the ConfigMap is not generated (no hash suffix: changes do not roll pods)")
    for key in config["data"]:
        if key in ("KAFKA_PROPERTIES", "DATABASE_URL", "MIGRATION_DATABASE_URL", "STRIPE_SECRET_KEY", "SERVICE_TOKENS"):
            errors.append(f"the ConfigMap carries {key}, which belongs in the Secret")
    if any(d["kind"] == "Secret" for d in docs):
        errors.append("an overlay renders a Secret: every apply would overwrite the real one")
    wnp = _by(docs, "NetworkPolicy", "user-worker")
    ports = [(p.get("port"), p.get("endPort", p.get("port"))) for r in wnp["spec"]["egress"] for p in r["ports"]]
    for needed in (9092, 9093, 9094, 9096, 9098):
        if not any(lo <= needed <= hi for lo, hi in ports if isinstance(lo, int)):
            errors.append(f"the worker may not reach Kafka on {needed}")
    ingress = _by(docs, "Ingress", "user-api")
    if not ingress or not ingress["spec"].get("tls"):
        errors.append("no TLS Ingress for the API")
    else:
        paths = {p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
        if not paths <= {"/user", "/api/user", "/webhooks", "/api/webhooks"}:
            errors.append(f"the Ingress routes more than the API: {sorted(paths)}")
    if not config["data"].get("METRICS_ADDR"):
        errors.append("/metrics is served on the public port (set METRICS_ADDR)")
    for ns in (d for d in docs if d["kind"] == "Namespace"):
        if ns["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") != "restricted":
            errors.append(f"Namespace/{ns['metadata']['name']} does not enforce Pod Security 'restricted'")
    return errors

def policy(rendered, prod=""):
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    _verdict(policy_errors(docs, bool(prod)), f"{rendered}: every production rule holds")

def policy_selftest(rendered):
    """Re-introduces each reviewed defect into the rendered production objects:
    the policy (or the budget, release or strict KEDA check) must catch it."""
    import copy
    base = [d for d in yaml.safe_load_all(open(rendered)) if d]
    assert not policy_errors(base, True), policy_errors(base, True)

    def mutate(f):
        docs = copy.deepcopy(base)
        f(docs)
        return docs

    so = lambda d: _by(d, "ScaledObject", "user-worker")
    dep = lambda d, n: _by(d, "Deployment", n)
    cfg = lambda d: _by(d, "ConfigMap", "userlib-config")
    def hardcode(d):
        m = so(d)["spec"]["triggers"][0]["metadata"]
        m.pop("bootstrapServersFromEnv"); m["bootstrapServers"] = "kafka:9092"
    defects = {
        "1 bootstrapServers hard-coded": hardcode,
        "1 no TriggerAuthentication": lambda d: so(d)["spec"]["triggers"][0].pop("authenticationRef"),
        "1 no fallback": lambda d: so(d)["spec"].pop("fallback"),
        "2 lagThreshold 200": lambda d: so(d)["spec"]["triggers"][0]["metadata"].update(lagThreshold="200"),
        "2 no scale-down behaviour": lambda d: so(d)["spec"].pop("advanced"),
        "2 prod minReplicaCount 1": lambda d: so(d)["spec"].update(minReplicaCount=1),
        "2 cooldownPeriod": lambda d: so(d)["spec"].update(cooldownPeriod=120),
        "3 spec.replicas on user-api": lambda d: dep(d, "user-api")["spec"].update(replicas=3),
        "3 spec.replicas on user-worker": lambda d: dep(d, "user-worker")["spec"].update(replicas=1),
        "4 no preStop": lambda d: _container(dep(d, "user-api")).pop("lifecycle"),
        "4 grace shorter than pause + drain": lambda d: dep(d, "user-api")["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=20),
        "5 Job reads the generated ConfigMap": lambda d: _container(_by(d, "Job", "userlib-migrate"))["envFrom"].append({"configMapRef": {"name": cfg(d)["metadata"]["name"]}}),
        "6 no worker startupProbe": lambda d: _container(dep(d, "user-worker")).pop("startupProbe"),
        "8 Kafka egress 9092 only": lambda d: _by(d, "NetworkPolicy", "user-worker")["spec"]["egress"][0]["ports"][0].pop("endPort"),
        "8 KAFKA_PROPERTIES in the ConfigMap": lambda d: cfg(d)["data"].update(KAFKA_PROPERTIES="sasl.password=x"),
        "9 a Secret rendered": lambda d: d.append({"kind": "Secret", "metadata": {"name": "userlib-secrets"}}),
        "10 ConfigMap not generated": lambda d: cfg(d)["metadata"].update(name="userlib-config"),
        "Ingress routes /metrics": lambda d: _by(d, "Ingress", "user-api")["spec"]["rules"][0]["http"]["paths"].append({"path": "/metrics"}),
        "no METRICS_ADDR": lambda d: cfg(d)["data"].pop("METRICS_ADDR"),
        "no zone spread": lambda d: dep(d, "user-api")["spec"]["template"]["spec"].update(topologySpreadConstraints=[]),
        "namespace without PSS": lambda d: _by(d, "Namespace", "userlib")["metadata"].update(labels={}),
    }
    failed = False
    for name, f in defects.items():
        if policy_errors(mutate(f), True):
            print(f"ok   the policy catches defect {name}")
        else:
            print(f"FAIL the policy accepts defect {name}", file=sys.stderr)
            failed = True
    # 7 (budget) and 5 (Job name) are caught by their own checks.
    import io, contextlib
    for name, f, check in [
        ("7 budget exceeded", lambda d: _by(d, "HorizontalPodAutoscaler", "user-api")["spec"].update(maxReplicas=40), budget),
        ("5 fixed migration Job name", lambda d: _by(d, "Job", "userlib-migrate")["metadata"].update(name="userlib-migrate"), release),
    ]:
        path = "/tmp/userlib-policy-selftest.yaml"
        yaml.safe_dump_all(mutate(f), open(path, "w"))
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                check(path)
            print(f"FAIL the {check.__name__} check accepts defect {name}", file=sys.stderr)
            failed = True
        except SystemExit:
            print(f"ok   the {check.__name__} check catches defect {name}")
    if failed:
        sys.exit(1)

def monitoring(rendered, overlay, metrics_rs, rules_yml, dashboard_json):
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
                 "outcome", "result", "op", "count", "avg", "max", "min", "and", "deriv",
                 "min_over_time", "route"}
    # Metrics of the cluster's own exporters the alerts rely on.
    exported |= {"keda_scaler_metrics_value",  # KEDA operator
                 "kube_horizontalpodautoscaler_status_current_replicas",  # kube-state-metrics
                 "kube_horizontalpodautoscaler_spec_max_replicas",
                 "kube_deployment_status_replicas_available", "kube_deployment_spec_replicas"}
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
    _verdict(problems, f"{len(exprs)} alert and panel queries name exported metrics; "
                       f"PrometheusRule = {rules_yml}; scrape ports exist")

def _unpinned_bases(dockerfile_text):
    """External images in FROM lines without an @sha256 digest (stage names are
    internal and need none)."""
    stages, unpinned = set(), []
    for line in dockerfile_text.splitlines():
        words = line.split()
        if len(words) < 2 or words[0].upper() != "FROM":
            continue
        image = next(w for w in words[1:] if not w.startswith("--"))
        if image not in stages and not re.search(r"@sha256:[0-9a-f]{64}$", image):
            unpinned.append(image)
        if len(words) >= 4 and words[-2].upper() == "AS":
            stages.add(words[-1])
    return unpinned

def base_images(dockerfile):
    # The check itself must be able to fail: a tag-only FROM is caught.
    assert _unpinned_bases("FROM debian:bookworm-slim AS x\nFROM x\n") == ["debian:bookworm-slim"]
    _verdict([f"{dockerfile}: base image {image} is not pinned by digest (@sha256:...)"
              for image in _unpinned_bases(open(dockerfile).read())],
             f"every external base image in {dockerfile} is pinned by digest")

if __name__ == "__main__":
    {"compose": compose, "split": split, "scaledobjects": scaledobjects,
     "keda-strict": keda_strict, "keda-strict-selftest": keda_strict_selftest,
     "budget": budget, "release": release, "monitoring": monitoring,
     "policy": policy, "policy-selftest": policy_selftest,
     "base-images": base_images}[sys.argv[1]](*sys.argv[2:])
