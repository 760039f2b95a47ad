"""Every ``model.`` / ``data.`` / ``trainer.`` override the documentation prints names a key that exists.

Sources: code spans and shell blocks of ``README.md`` and ``docs/*.md``, and the comments of the YAML
files under ``conf/`` and ``experiments/`` (code spans there, and bare ``key=value`` words). A key counts as
documented correctly when some composition of ``conf/`` has it: the default ``train`` config, one group
option (``model=``, ``data=``, ``trainer=``, ...), one experiment, or the ``predict`` / ``export`` / ``eval``
configs. Hydra refuses an override of a key that is absent, so a key found in none of them is a
command that cannot work. ``a.b.*`` asks for the node ``a.b``; ``+a.b`` for the node ``a``.
"""
from __future__ import annotations

import functools
import pathlib
import re

import pytest
from omegaconf import DictConfig, OmegaConf

from inpainting.cli.common import CONFIG_DIR
from inpainting.utils.resources import compose

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
CONFIGS = sorted([*CONFIG_DIR.rglob("*.yaml"), *(REPO_ROOT / "experiments").rglob("*.yaml")])
# a key at the start of a word; a following "(" makes it Python (``trainer.test(...)``), an extension a file name
KEY = re.compile(r"(?<![\w./$-])(\+?)((?:model|data|trainer)\.[A-Za-z_][\w*]*(?:\.[A-Za-z_*][\w*]*)*)(=?)(?![\w(])")
FILE_NAME = re.compile(r"\.(py|pt|pth|onnx|ckpt|yaml|json|md)$")
SHELL_FENCES = ("", "bash", "sh", "shell", "console")
GROUPS = ("model", "data", "trainer", "scale", "debug", "logger", "callbacks")


def code_of_markdown(text: str) -> list[str]:
    """The code spans and the shell blocks of a Markdown text."""
    found, fence = [], None
    for line in text.splitlines():
        if fence is not None:
            if line.startswith("```"):
                fence = None
            elif fence in SHELL_FENCES:
                found.append(line)
        elif line.startswith("```"):
            fence = line[3:].strip()
        else:
            found += re.findall(r"`([^`]+)`", line)
    return found


def documented_keys() -> dict[str, set[str]]:
    """Each documented override key (``+`` kept) -> the files that print it."""
    keys: dict[str, set[str]] = {}

    def add(text: str, path: pathlib.Path, bare_needs_value: bool) -> None:
        for plus, key, equals in KEY.findall(text):
            if not FILE_NAME.search(key) and (equals or not bare_needs_value):
                keys.setdefault(plus + key.rstrip("."), set()).add(str(path.relative_to(REPO_ROOT)))

    for path in DOCS:
        for span in code_of_markdown(path.read_text()):
            add(span, path, bare_needs_value=False)
    for path in CONFIGS:
        for line in path.read_text().splitlines():
            comment = line.split("#", 1)[1] if "#" in line else ""
            for span in re.findall(r"`([^`]+)`", comment):
                add(span, path, bare_needs_value=False)
            add(re.sub(r"`[^`]*`", " ", comment), path, bare_needs_value=True)
    return keys


def base_overrides() -> list[tuple[str, list[str]]]:
    """The compositions a documented key may belong to, cheapest and most common first."""
    bases: list[tuple[str, list[str]]] = [("train", [])]
    for group in GROUPS:
        bases += [("train", [f"{group}={p.stem}"]) for p in sorted((CONFIG_DIR / group).glob("*.yaml"))]
    bases += [("train", [f"experiment={p.stem}"]) for p in sorted((CONFIG_DIR / "experiment").glob("*.yaml"))]
    return bases + [("predict", []), ("export", []), ("eval", [])]


@functools.lru_cache(maxsize=None)
def nodes_of(name: str, overrides: tuple[str, ...]) -> frozenset[str]:
    """Every dotted key of a composed config (dict nodes and leaves), interpolations unresolved."""
    found: set[str] = set()

    def walk(node: DictConfig, prefix: str) -> None:
        for key in node.keys():
            path = f"{prefix}{key}"
            found.add(path)
            child = node._get_node(key)
            if isinstance(child, DictConfig) and not child._is_none():
                walk(child, path + ".")

    cfg = compose(name, list(overrides))
    walk(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), "")
    return frozenset(found)


def wanted(key: str) -> str:
    """The node that must exist for ``key`` to be overridden (``+`` adds a child, ``.*`` means the node)."""
    if key.startswith("+"):
        return key[1:].rpartition(".")[0]
    return key.removesuffix(".*")


def composition_with(node: str) -> tuple[str, list[str]] | None:
    return next(((name, o) for name, o in base_overrides() if node in nodes_of(name, tuple(o))), None)


def test_documents_print_overrides():
    keys = documented_keys()
    # the scan finds what the README and docs show (guards the scanner itself)
    assert {"model.fusion.kernel_norm", "data.batch_size", "trainer.max_epochs"} <= set(keys)


def test_every_documented_override_names_a_key_that_composes():
    missing = {key: sorted(paths) for key, paths in documented_keys().items() if composition_with(wanted(key)) is None}
    assert not missing, f"documented overrides whose key no config has: {missing}"


def test_an_undocumented_key_is_found_missing():
    assert composition_with("model.net.fusion.uncertainty_normalize") is None
    assert composition_with("model.fusion.uncertainty_normalize") is not None


@pytest.mark.parametrize("text, keys", [
    ("`inpaint-train experiment=demo model.fusion.init=res1 trainer.max_epochs=1`",
     ["model.fusion.init", "trainer.max_epochs"]),
    ("`model.loss.weights.*`, `trainer.test(...)`, `model.pt`, `+data.extra=1`",
     ["model.loss.weights.*", "+data.extra"]),
])
def test_the_scanner_reads_code_spans(text, keys):
    assert [plus + key for span in code_of_markdown(text) for plus, key, _ in KEY.findall(span)
            if not FILE_NAME.search(key)] == keys
