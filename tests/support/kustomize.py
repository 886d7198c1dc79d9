"""A small kustomize renderer for the tests: ``resources`` and file ``patches`` only.

``kubectl kustomize`` (kustomize v5) is the reference; this renderer exists so the
manifests are rendered and validated where kubectl is not installed, and
``tests/deploy/test_kubernetes.py`` checks that both give the same objects where it is.

What it does, and nothing more (any other kustomization key raises
:class:`UnsupportedKustomization`, so a feature it does not know is never skipped):

- ``resources``: YAML files (every document) or directories holding a
  ``kustomization.yaml``, rendered first, in order.
- ``patches``: entries ``{path: FILE}`` holding one strategic-merge patch each, applied
  to the object of the same ``kind`` and ``metadata.name``. Merge rule: mappings merge
  key by key, a ``null`` value deletes the key, lists of mappings that all carry
  ``name`` (containers, volumes, env, ports, volumeMounts) merge by ``name``, any other
  list or value is replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
"""One Kubernetes object as parsed from YAML."""

_KNOWN_KEYS = frozenset({"apiVersion", "kind", "resources", "patches"})


class UnsupportedKustomization(Exception):
    """The kustomization uses a feature this renderer does not implement."""


def render(directory: Path) -> list[Manifest]:
    """The objects of the kustomization in ``directory``, patches applied.

    Raises:
        UnsupportedKustomization: an unknown key, a patch without ``path``, or a patch
            whose target is not among the resources.
        FileNotFoundError: a listed resource or patch file is missing.
    """
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - _KNOWN_KEYS
    if unknown:
        raise UnsupportedKustomization(f"{directory}: keys not supported: {sorted(unknown)}")
    objects: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(load_documents(path))
    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise UnsupportedKustomization(
                f"{directory}: only {{path: FILE}} patches: {patch_entry}"
            )
        for patch in load_documents(directory / patch_entry["path"]):
            target = _find(objects, patch["kind"], patch["metadata"]["name"])
            if target is None:
                raise UnsupportedKustomization(
                    f"{directory}: patch target {patch['kind']}/{patch['metadata']['name']} missing"
                )
            objects[objects.index(target)] = strategic_merge(target, patch)
    return objects


def load_documents(path: Path) -> list[Manifest]:
    """Every non-empty YAML document of ``path``."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def strategic_merge(base: Manifest, patch: Manifest) -> Manifest:
    """``base`` with ``patch`` merged in by the rule in the module docstring (a new dict)."""
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = strategic_merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = _merge_list(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge_list(base: list[Any], patch: list[Any]) -> list[Any]:
    if not all(isinstance(item, dict) and "name" in item for item in (*base, *patch)):
        return list(patch)
    merged = list(base)
    for item in patch:
        names = [existing["name"] for existing in merged]
        if item["name"] in names:
            index = names.index(item["name"])
            merged[index] = strategic_merge(merged[index], item)
        else:
            merged.append(item)
    return merged


def _find(objects: list[Manifest], kind: str, name: str) -> Manifest | None:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    return None
