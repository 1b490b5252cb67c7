"""Differences between two compiled specs, and which of them are breaking.

A change is breaking when a stored response could change meaning under it: an item's type or value type
changes, a choice value an item uses disappears, an item moves into or out of a repeat (its answers
change shape), or an item disappears (its name could later come back with another meaning). Those need a new
item name instead; an item that is no longer asked is hidden with ``relevant: "false()"``.

Each change carries a ``detail`` (types before and after, removed choice values, the items using a removed
choice, the repeats left or entered) so that :func:`terrain.speclang.explain.describe_change` can say it in
a coordinator's words."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from .issues import SpecIssue

Op = Literal["added", "removed", "changed"]
Target = Literal["item", "choice", "choice_list", "theme", "audience", "spec"]
BREAKING_CODE = "breaking_change"

_SPEC_KEYS = (
    "format",
    "kind",
    "name",
    "title",
    "description",
    "languages",
    "introduction",
    "consent",
    "entry_title",
)
# Compared separately (children, hoisted list names) or derived.
_ITEM_SKIP = frozenset({"items", "choice_list", "name"})


@dataclass
class Change:
    op: Op
    target: Target
    name: str
    fields: list[str] = field(default_factory=list)
    breaking: bool = False
    reason: str | None = None
    # What the sentences need: from_type/to_type, from_value_type/to_value_type, from_repeat/to_repeat,
    # list/values (choices an item lost), items (items using a removed choice), theme (a guide theme's removed
    # field), from/to (document kind, name).
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "target": self.target,
            "name": self.name,
            "fields": list(self.fields),
            "breaking": self.breaking,
            "reason": self.reason,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        """The change back from :meth:`to_dict` (``detail`` optional, for diffs stored without it)."""
        return cls(
            op=data["op"],
            target=data["target"],
            name=str(data["name"]),
            fields=list(data.get("fields") or []),
            breaking=bool(data.get("breaking")),
            reason=data.get("reason"),
            detail=dict(data.get("detail") or {}),
        )


@dataclass
class SpecDiff:
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return any(c.breaking for c in self.changes)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def breaking_changes(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": [c.to_dict() for c in self.changes],
            "breaking": self.breaking,
            "is_empty": self.is_empty,
        }


def _walk(items: Any) -> Iterator[dict[str, Any]]:
    for item in items or []:
        if isinstance(item, dict) and "name" in item:
            yield item
            yield from _walk(item.get("items"))


def _items(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {i["name"]: i for i in _walk(spec.get("items"))}
    for theme in spec.get("themes") or []:
        out.update({i["name"]: i for i in _walk(theme.get("items"))})
    return out


def _choices(spec: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    name = item.get("choice_list")
    values = (spec.get("choice_lists") or {}).get(name) or [] if name else []
    return {str(c.get("value")): c for c in values if isinstance(c, dict)}


def _by_name(entries: Any) -> dict[str, dict[str, Any]]:
    return {str(e.get("name")): e for e in entries or [] if isinstance(e, dict)}


def _changed_keys(old: dict[str, Any], new: dict[str, Any], skip: frozenset[str] = frozenset()) -> list[str]:
    keys = sorted((set(old) | set(new)) - skip)
    return [k for k in keys if old.get(k) != new.get(k)]


def _type_detail(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {
        "from_type": old.get("type"),
        "to_type": new.get("type"),
        "from_value_type": old.get("value_type"),
        "to_value_type": new.get("value_type"),
    }


def diff(old: dict[str, Any], new: dict[str, Any]) -> SpecDiff:
    """What changed from ``old`` to ``new`` (compiled specs), in a stable order."""
    changes: list[Change] = []
    for key in _SPEC_KEYS:
        if old.get(key) != new.get(key):
            breaking = key in ("kind", "name")
            changes.append(
                Change(
                    "changed",
                    "spec",
                    key,
                    [key],
                    breaking,
                    f"{key}_changed" if breaking else None,
                    {"from": old.get(key), "to": new.get(key)} if breaking else {},
                )
            )

    old_fields = old.get("fields") or {}
    new_fields = new.get("fields") or {}
    old_items, new_items = _items(old), _items(new)
    for name in old_items:
        if name not in new_items:
            # Removing is breaking too: the name could come back with another meaning. Hide it instead
            # (relevant: "false()").
            changes.append(Change("removed", "item", name, [], True, "item_removed"))
    for name, item in new_items.items():
        before = old_items.get(name)
        if before is None:
            changes.append(Change("added", "item", name))
            continue
        keys = _changed_keys(before, item, _ITEM_SKIP)
        old_choices, new_choices = _choices(old, before), _choices(new, item)
        if old_choices != new_choices:
            keys.append("choices")
        reason = None
        detail: dict[str, Any] = {}
        removed_values = [value for value in old_choices if value not in new_choices]
        if "type" in keys or "value_type" in keys:
            reason = "type_changed"
            detail.update(_type_detail(before, item))
        elif removed_values:
            reason = "choice_removed"
        if removed_values:
            detail["list"] = before.get("choice_list")
            detail["values"] = removed_values
        of, nf = old_fields.get(name) or {}, new_fields.get(name) or {}
        if of and nf and of.get("repeat") != nf.get("repeat"):
            keys.append("repeat")
            reason = reason or "repeat_changed"
            detail.update(from_repeat=of.get("repeat"), to_repeat=nf.get("repeat"))
        if keys:
            changes.append(
                Change("changed", "item", name, sorted(set(keys)), reason is not None, reason, detail)
            )

    # Fields that are not items (matrix rows, generated theme fields, "other" companions).
    old_themes = set(_by_name(old.get("themes")))
    for name in sorted(set(old_fields) | set(new_fields)):
        if name in old_items or name in new_items:
            continue
        of, nf = old_fields.get(name), new_fields.get(name)
        if of is None:
            changes.append(Change("added", "item", name))
        elif nf is None:
            # A guide theme's generated field ("<theme>.<theme>__notes"): say which theme it belonged to.
            theme = str(of.get("path") or "").partition(".")[0]
            detail = {"theme": theme} if theme in old_themes and theme != name else {}
            changes.append(Change("removed", "item", name, [], True, "item_removed", detail))
        else:
            keys = _changed_keys(of, nf)
            if keys:
                reason = "type_changed" if {"type", "value_type"} & set(keys) else None
                detail = _type_detail(of, nf) if reason else {}
                if "repeat" in keys:
                    reason = reason or "repeat_changed"
                    detail.update(from_repeat=of.get("repeat"), to_repeat=nf.get("repeat"))
                changes.append(Change("changed", "item", name, keys, reason is not None, reason, detail))

    old_lists, new_lists = old.get("choice_lists") or {}, new.get("choice_lists") or {}
    users: dict[str, list[str]] = {}
    for item_name, item in old_items.items():
        if item.get("choice_list"):
            users.setdefault(str(item["choice_list"]), []).append(item_name)
    for lname in sorted(set(old_lists) | set(new_lists)):
        before_list, after_list = old_lists.get(lname), new_lists.get(lname)
        if before_list is None:
            changes.append(Change("added", "choice_list", lname))
            continue
        if after_list is None:
            changes.append(Change("removed", "choice_list", lname))
            continue
        ob = {str(c.get("value")): c for c in before_list}
        nb = {str(c.get("value")): c for c in after_list}
        for value, choice in ob.items():
            if value not in nb:
                breaking = lname in users
                changes.append(
                    Change(
                        "removed",
                        "choice",
                        f"{lname}.{value}",
                        [],
                        breaking,
                        "choice_removed" if breaking else None,
                        {"items": users[lname]} if breaking else {},
                    )
                )
            elif choice != nb[value]:
                changes.append(
                    Change("changed", "choice", f"{lname}.{value}", _changed_keys(choice, nb[value]))
                )
        for value in nb:
            if value not in ob:
                changes.append(Change("added", "choice", f"{lname}.{value}"))
        if list(ob) != list(nb) and set(ob) == set(nb):
            changes.append(Change("changed", "choice_list", lname, ["order"]))

    for target, key in (("theme", "themes"), ("audience", "audiences")):
        ob, nb = _by_name(old.get(key)), _by_name(new.get(key))
        for name in ob:
            if name not in nb:
                changes.append(Change("removed", target, name))  # type: ignore[arg-type]
        for name, entry in nb.items():
            if name not in ob:
                changes.append(Change("added", target, name))  # type: ignore[arg-type]
            else:
                keys = _changed_keys(ob[name], entry, frozenset({"items"}))
                if target == "theme" and [i.get("name") for i in ob[name].get("items") or []] != [
                    i.get("name") for i in entry.get("items") or []
                ]:
                    keys.append("items")
                if keys:
                    changes.append(Change("changed", target, name, keys))  # type: ignore[arg-type]
    return SpecDiff(changes)


def breaking_issues(difference: SpecDiff, file: str = "<spec>") -> list[SpecIssue]:
    """One ``breaking_change`` issue per breaking change, to refuse a publication."""
    out: list[SpecIssue] = []
    for change in difference.breaking_changes:
        path = {"item": "items", "choice": "choice_lists", "spec": ""}.get(change.target, change.target)
        out.append(
            SpecIssue(
                file,
                1,
                1,
                f"{path}.{change.name}" if path else change.name,
                BREAKING_CODE,
                {"name": change.name, "reason": change.reason or "", "target": change.target},
            )
        )
    return out


def check_publishable(old: dict[str, Any], new: dict[str, Any], file: str = "<spec>") -> list[SpecIssue]:
    """Issues refusing to publish ``new`` over ``old`` (empty: publishable)."""
    return breaking_issues(diff(old, new), file)
