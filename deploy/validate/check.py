"""Offline checks of the deployment files, run by scripts/validate-deploy.

    check.py compose COMPOSE_FILE SCHEMA_JSON
    check.py split RENDERED_YAML OUT_DIR     (writes one file per object, prints the list)
    check.py scaledobjects RENDERED_YAML     (prints the ScaledObjects as a JSON array)
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


if __name__ == "__main__":
    {"compose": compose, "split": split, "scaledobjects": scaledobjects}[sys.argv[1]](*sys.argv[2:])
