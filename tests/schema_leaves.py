"""Every key path of the config schema, as a user writes it (camelCase, dotted), for exhaustive tests.

Maps of named entries (``services``, ``cluster.nodeGroups``) are entered through an entry that the stack
file has, so a path reaches every field of the entry's model; free-form maps (labels, settings, parameters)
are leaves, and so is one key inside them.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from config import PlatformConfig

# Entries of named maps the stack files define, per map path.
NAMED_ENTRIES = {"services": "api", "cluster.nodeGroups": "general", "cost.llm.services": "api"}


def _strip(annotation: Any) -> Any:
    if get_origin(annotation) is Annotated:
        return _strip(get_args(annotation)[0])
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return _strip(args[0])
    return annotation


def leaves(model: type[BaseModel] = PlatformConfig, prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        annotation = _strip(field.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.append(path)
            out.extend(leaves(annotation, f"{path}."))
        elif get_origin(annotation) is dict:
            out.append(path)
            value = _strip(get_args(annotation)[1])
            if isinstance(value, type) and issubclass(value, BaseModel):
                entry = NAMED_ENTRIES.get(path, "extra")
                out.append(f"{path}.{entry}")
                out.extend(leaves(value, f"{path}.{entry}."))
            else:
                out.append(f"{path}.someKey")
        else:
            out.append(path)
    return out
