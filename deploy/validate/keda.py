"""The strict ScaledObject check of deploy/validate/check.py (keda-strict and
its self-test): KEDA 2.x's ScaledObject schema, closed, so that a typo fails."""
import copy
import sys

import jsonschema
import yaml

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
