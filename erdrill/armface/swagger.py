"""Check a JSON body against a definition in Microsoft's published swagger files.

A small checker, enough for ARM response bodies: resolves `$ref` across the swagger files
of one folder, follows `allOf`, and checks `required` properties, JSON types, enums
(unless modelAsString) and array items. A `$ref` to a file that is not stored (e.g.
routeTable.json) is accepted as any value and reported in `unresolved`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SPECS", "Swagger"]

SPECS = Path("/work/shared/azure-rest-specs/2025-07-01")

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass
class Swagger:
    """The swagger files of one folder, loaded lazily."""

    folder: Path = SPECS
    _files: dict[str, dict[str, Any]] = field(default_factory=dict)
    unresolved: set[str] = field(default_factory=set)

    def _file(self, name: str) -> dict[str, Any] | None:
        if name not in self._files:
            path = self.folder / name
            if not path.is_file():
                return None
            self._files[name] = json.loads(path.read_text(encoding="utf-8"))
        return self._files[name]

    def _resolve(self, ref: str, base: str) -> tuple[dict[str, Any] | None, str]:
        target, _, pointer = ref.partition("#")
        fname = Path(target).name if target else base
        doc = self._file(fname)
        if doc is None:
            self.unresolved.add(ref)
            return None, fname
        node: Any = doc
        for part in pointer.strip("/").split("/"):
            node = node[part]
        return node, fname

    def response_schema(self, file: str, operation_id: str, status: str = "200") -> dict[str, Any]:
        """The response schema of an operation, as a {"$ref": ...} rooted in `file`."""
        doc = self._file(file)
        assert doc is not None, f"{file} not found in {self.folder}"
        for ops in doc["paths"].values():
            for op in ops.values():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    return dict(op["responses"][status].get("schema", {}))
        raise KeyError(f"{operation_id} not in {file}")

    def check(self, value: Any, schema: dict[str, Any], file: str, where: str = "$") -> list[str]:
        """Every problem of `value` against `schema` (empty when it conforms)."""
        problems: list[str] = []
        if "$ref" in schema:
            resolved, fname = self._resolve(schema["$ref"], file)
            if resolved is None:
                return problems
            return self.check(value, resolved, fname, where)
        for part in schema.get("allOf", []):
            problems += self.check(value, part, file, where)
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        if kind is not None:
            ok = isinstance(value, _TYPES[kind]) and not (
                kind in {"integer", "number"} and isinstance(value, bool)
            )
            if not ok:
                return [*problems, f"{where}: expected {kind}, got {type(value).__name__}"]
        enum = schema.get("enum")
        as_string = schema.get("x-ms-enum", {}).get("modelAsString", False)
        if enum and not as_string and value not in enum:
            problems.append(f"{where}: {value!r} is not one of {enum}")
        if isinstance(value, dict):
            for name in schema.get("required", []):
                if name not in value:
                    problems.append(f"{where}: required property {name!r} missing")
            props = schema.get("properties", {})
            for name, sub in props.items():
                if name in value:
                    problems += self.check(value[name], sub, file, f"{where}.{name}")
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                problems += self.check(item, schema["items"], file, f"{where}[{i}]")
        return problems
