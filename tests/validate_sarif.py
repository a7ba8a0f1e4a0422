"""Validate a SARIF log against the official SARIF 2.1.0 JSON schema.

Usage: python3 tests/validate_sarif.py LOG.sarif
Exit codes: 0 valid, 1 invalid, 77 skipped (no `jsonschema` module or no schema file).

The schema is not vendored (no network but package registries here). It is found, in order, at:
  1. $PORTOLAN_SARIF_SCHEMA, a path to sarif-schema-2.1.0.json (or sarif-2.1.0-rtm.5.json);
  2. the copy the npm package @microsoft/jest-sarif ships, lib/schemas/sarif-2.1.0-rtm.5.json,
     under ./node_modules or the global `npm root -g`. To get it without its dependencies:
       npm pack @microsoft/jest-sarif@1.0.0-beta.0 && tar xzf microsoft-jest-sarif-*.tgz
       export PORTOLAN_SARIF_SCHEMA=$PWD/package/lib/schemas/sarif-2.1.0-rtm.5.json
The PyPI packages sarif-om, jschema-to-python and sarif-tools do not ship the schema.
"""

import json
import os
import subprocess
import sys

SKIP = 77
JEST_SARIF = os.path.join("@microsoft", "jest-sarif", "lib", "schemas", "sarif-2.1.0-rtm.5.json")


def find_schema():
    candidates = [os.environ.get("PORTOLAN_SARIF_SCHEMA", "")]
    crate = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates.append(os.path.join(crate, "node_modules", JEST_SARIF))
    try:
        root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, timeout=30)
        candidates.append(os.path.join(root.stdout.strip(), JEST_SARIF))
    except (OSError, subprocess.SubprocessError):
        pass
    return next((c for c in candidates if c and os.path.isfile(c)), None)


def main():
    try:
        import jsonschema
    except ImportError:
        print("skipped: python module jsonschema is not installed")
        return SKIP
    schema_path = find_schema()
    if schema_path is None:
        print("skipped: no SARIF 2.1.0 schema found (set PORTOLAN_SARIF_SCHEMA)")
        return SKIP
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    with open(sys.argv[1], encoding="utf-8") as f:
        log = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    for error in errors:
        path = "/".join(str(p) for p in error.absolute_path)
        print(f"{path}: {error.message}")
    if errors:
        return 1
    print(f"valid against {schema_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
