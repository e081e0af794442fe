"""Versioned YAML policies: located, read and checked in one place.

A policy is data (``workbench/policies/*.yaml`` ships the defaults); every report names
the policy name and version it ran with. A policy that does not pass its checks is
refused with every problem listed, the file named.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .config import POLICIES_DIR

__all__ = ["PolicyError", "read_policy"]


class PolicyError(ValueError):
    """A policy file that is missing, unreadable or fails its checks."""


def read_policy(name_or_path: str | Path, kind: str) -> tuple[dict, Path]:
    """Read a policy YAML: a path, or the name of a shipped default (``"aging"``).

    Returns the document and the file it came from. ``name`` and ``version`` are required.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = POLICIES_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise PolicyError(f"{kind} policy file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as e:
        raise PolicyError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(doc, dict):
        raise PolicyError(f"{path}: a {kind} policy must be a mapping")
    missing = [k for k in ("name", "version") if not doc.get(k)]
    if missing:
        raise PolicyError(f"{path}: missing {', '.join(missing)}")
    doc["version"] = str(doc["version"])
    return doc, path
