#!/usr/bin/env python3
"""Offline checks of spec/openapi.yaml, no server needed.

1. The document is valid OpenAPI (openapi-spec-validator, shipped with the interop venv).
2. Every table-metadata JSON file under table-format/testdata (v1, v2 and v3, written by
   pyiceberg and by Floe's own fixtures) validates against the `TableMetadata` schema, so the
   document never flags real metadata.
3. A few hand-written request and response bodies validate against their schemas (and a few
   wrong ones do not).

Usage: python tests/interop/openapi_selfcheck.py   (exit status 0 when everything passes)
"""
import json
import pathlib
import sys

import jsonschema
import yaml
from openapi_spec_validator import validate

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "openapi.yaml"


def schema_validator(doc, name):
    """A JSON Schema 2020-12 validator for components/schemas/NAME, refs resolved in DOC."""
    wrapper = dict(doc)
    wrapper["$ref"] = f"#/components/schemas/{name}"
    return jsonschema.Draft202012Validator(wrapper, format_checker=jsonschema.FormatChecker())


def main():
    doc = yaml.safe_load(SPEC.read_text())
    validate(doc)
    print("openapi.yaml: valid OpenAPI", doc["openapi"])

    failures = 0
    tm = schema_validator(doc, "TableMetadata")
    checked = 0
    for path in sorted((ROOT / "table-format" / "testdata").rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not (isinstance(data, dict) and "format-version" in data and "table-uuid" in data):
            continue
        checked += 1
        errors = list(tm.iter_errors(data))
        for err in errors[:3]:
            failures += 1
            print(f"FAIL {path.relative_to(ROOT)}: {list(err.absolute_path)}: {err.message[:200]}")
    print(f"TableMetadata: {checked} metadata files checked")
    if checked == 0:
        print("FAIL no metadata files found under table-format/testdata")
        failures += 1

    cases = [
        ("TableUpdate", {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 1}, True),
        ("TableUpdate", {"action": "add-schema", "schema": {"type": "struct", "fields": [
            {"id": 1, "name": "x", "required": False, "type": "decimal(9, 2)"},
            {"id": 2, "name": "l", "required": False, "type": {
                "type": "list", "element-id": 3, "element": "timestamptz_ns", "element-required": True}},
        ]}}, True),
        ("TableUpdate", {"action": "enable-row-lineage"}, False),
        ("TableRequirement", {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": None}, True),
        ("TableRequirement", {"type": "assert-table-uuid"}, False),
        ("Identifier", "..", False),
        ("Identifier", "a/b", False),
        ("Identifier", "x" * 256, False),
        ("Identifier", "ok name", True),
        ("Identifier", "a\\b", False),
        ("NamespacePath", "a\x1fb", True),
        ("NamespacePath", "a\x1f..", False),
        ("NotFoundError", {"error": {"message": "m", "type": "NoSuchTableException", "code": 404}}, True),
        ("NotFoundError", {"error": {"message": "m", "type": "NoSuchTableException", "code": 400}}, False),
        ("Warehouse", {"name": "w", "storage": {"type": "s3", "location": "s3://b/p",
                       "secret-access-key": "********"}}, True),
        ("PermissionChanges", {"changes": [{"principal": "ml-training", "add": ["SELECT"]},
                                           {"role": "analysts", "remove": ["MODIFY"]}]}, True),
        ("PermissionChanges", {"changes": [{"principal": "a", "role": "b", "add": ["SELECT"]}]}, False),
        ("PermissionChanges", {"changes": [{"add": ["SELECT"]}]}, False),
        ("PrivilegeAssignments", {"privilege-assignments": [
            {"principal": "p", "privileges": ["USAGE", "ALL_PRIVILEGES"]}, {"role": "r", "privileges": []}]}, True),
        ("PrincipalName", "svc@example.com", True),
        ("PrincipalName", "no spaces", False),
        ("OAuthError", {"error": "invalid_client", "error_description": "unknown client or wrong secret"}, True),
        ("ForbiddenError", {"error": {"message": "m", "type": "ForbiddenException", "code": 403}}, True),
        ("UnauthorizedError", {"error": {"message": "m", "type": "ForbiddenException", "code": 401}}, False),
    ]
    for name, value, ok in cases:
        valid = schema_validator(doc, name).is_valid(value)
        if valid != ok:
            failures += 1
            print(f"FAIL {name}: expected {'valid' if ok else 'invalid'}: {json.dumps(value)[:120]}")
    print(f"schema cases: {len(cases)} checked")

    print(f"{0 if failures else 1} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
