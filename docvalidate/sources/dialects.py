"""The Markdown dialects a page can be read in, and how ``auto`` picks one."""

from __future__ import annotations

from pathlib import Path

DIALECTS = ("auto", "commonmark", "mkdocs")
MKDOCS_CONFIGS = ("mkdocs.yml", "mkdocs.yaml")


def find_mkdocs_config(path: Path) -> Path | None:
    """The nearest ``mkdocs.yml``/``mkdocs.yaml`` in the file's folder or above."""
    for folder in path.resolve().parents:
        for name in MKDOCS_CONFIGS:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def resolve_dialect(dialect: str, path: Path) -> str:
    if dialect != "auto":
        return dialect
    return "mkdocs" if find_mkdocs_config(path) else "commonmark"

