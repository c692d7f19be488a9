#!/usr/bin/env python3
"""Checks containerlab topology files against containerlab's published JSON schema.

    check_clab.py SCHEMA FILE...

The schema is vendored unchanged from srl-labs/containerlab, schemas/clab.schema.json
(commit 39ff2b7ccce20f3c4610fcbd1fc030582f4499c1). Exit 0 when every file validates; 1 and the
schema's complaints otherwise. Needs python3-yaml and python3-jsonschema (Debian packages).
"""
import json
import sys

import jsonschema
import yaml


def main() -> int:
    schema = json.load(open(sys.argv[1]))
    validator = jsonschema.Draft7Validator(schema)
    bad = 0
    for path in sys.argv[2:]:
        doc = yaml.safe_load(open(path))
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors:
            print(f"{path}: {'/'.join(map(str, e.path)) or '<root>'}: {e.message}")
        bad += len(errors)
        if not errors:
            print(f"{path}: valid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
