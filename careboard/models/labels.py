"""Translated labels for the models' enums: `Role.SALES_CARE.label` and the like."""
from __future__ import annotations

_LABELS: dict[tuple[type, object], object] = {}


class Labelled:
    """Mixin for an Enum whose members have a translated label, registered with `labels()`."""

    @property
    def label(self) -> str:
        return str(_LABELS[(type(self), self.value)])


def labels(enum_type: type, mapping: dict) -> None:
    """Register lazy_gettext labels for every member of `enum_type` (all must be given)."""
    missing = [member for member in enum_type if member not in mapping]
    if missing:
        raise ValueError(f"{enum_type.__name__} members without a label: {missing}")
    for member, text in mapping.items():
        _LABELS[(enum_type, member.value)] = text
