"""Read the engine's JSON leniently: what cannot be read is set aside and named, never fatal.

Engines of other versions send other subsets: a ``null`` where the document has a list, a string
where it has a number, an item of a list that is not an object, a field the document does not
know. A model built on :class:`LenientModel` takes what it can: a ``null`` counts as absent (the
field keeps its default, ``[]`` for a list), a value of the wrong type is dropped and its path is
kept in ``unread`` (``unread_paths`` gathers them through nested objects), and unknown fields are
ignored. Validation runs at full speed when nothing is wrong; the repair pass runs only after a
failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

_UNREAD = "__resync_unread__"
_ROUNDS = 4


class LenientModel(BaseModel):
    """Base of the plan objects: camelCase aliases, frozen, unknown fields ignored, lenient."""

    # frozen: the client's cache hands the same parsed objects to every caller
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    unread: tuple[str, ...] = Field(default=(), validation_alias=_UNREAD, exclude=True, repr=False)

    @model_validator(mode="wrap")
    @classmethod
    def _lenient(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        try:
            return handler(data)
        except ValidationError as e:
            if not isinstance(data, dict):
                raise
            error = e
        clean: dict[str, Any] = dict(data)
        unread: list[str] = []
        for _ in range(_ROUNDS):
            _set_aside(clean, error, unread)
            try:
                return handler({**clean, _UNREAD: tuple(unread)})
            except ValidationError as e:
                error = e
        raise error


def _set_aside(data: dict[str, Any], error: ValidationError, unread: list[str]) -> None:
    """Remove from ``data`` every value ``error`` complains about, naming the non-null ones."""
    drops: dict[str, set[Any]] = {}
    for err in error.errors():
        loc = err.get("loc") or ()
        if not loc or not isinstance(loc[0], str) or loc[0] not in data:
            continue
        key, rest = loc[0], loc[1:]
        value = data[key]
        inner = rest[0] if rest else None
        if (isinstance(value, list) and isinstance(inner, int)) or (
            isinstance(value, dict) and isinstance(inner, str) and inner in value
        ):
            drops.setdefault(key, set()).add(inner)
        else:
            drops[key] = set()
    for key, inner_keys in drops.items():
        value = data[key]
        if not inner_keys:
            del data[key]
            if value is not None:
                unread.append(f"{key}={_short(value)}")
        elif isinstance(value, list):
            data[key] = [v for i, v in enumerate(value) if i not in inner_keys]
            unread += [
                f"{key}[{i}]={_short(value[i])}" for i in sorted(inner_keys) if value[i] is not None
            ]
        else:
            data[key] = {k: v for k, v in value.items() if k not in inner_keys}
            unread += [f"{key}.{k}={_short(value[k])}" for k in sorted(inner_keys)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _children(model: BaseModel) -> Iterator[tuple[str, BaseModel]]:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        name = info.alias or name
        if isinstance(value, BaseModel):
            yield name, value
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield f"{name}[{i}]", item


def unread_paths(model: BaseModel, prefix: str = "", limit: int = 20) -> list[str]:
    """Return the values set aside while reading ``model`` and its nested objects."""
    out = [f"{prefix}{p}" for p in getattr(model, "unread", ())]
    for path, child in _children(model):
        if len(out) >= limit:
            break
        out += unread_paths(child, f"{prefix}{path}.", limit - len(out))
    return out[:limit]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """Hold items gathered over one or more pages, and whether more were left."""

    items: list[T]
    total: int | None = None
    truncated: bool = False
    #: what could not be read in the pages (items that were not objects, values set aside)
    notes: list[str] = Field(default_factory=list)
