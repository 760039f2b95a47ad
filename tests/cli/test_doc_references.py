"""Every reference to a page of ``docs/`` (and every Markdown link between the README and ``docs/``) names a
page and a section heading that exist in the repository; nothing cites documents that ship without it."""
from __future__ import annotations

import pathlib
import re
import subprocess

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CITATION = re.compile(r"(?<![\w/.-])docs/([\w-]+\.md)(?:#([\w-]+))?")
LINK = re.compile(r"\]\(((?:docs/)?[\w-]+\.md)(?:#([\w-]+))?\)")
# the reimplementation notes the project was written from; their facts live in docs/authors-code.md
OUTSIDE = re.compile(r"method-spec|baselines\.md|baselines \d\.\d")


def tracked(*patterns: str) -> list[pathlib.Path]:
    names = subprocess.run(["git", "ls-files", *patterns], cwd=REPO_ROOT, capture_output=True, text=True).stdout
    return [REPO_ROOT / name for name in names.split()] or pytest.skip("not a git checkout")


def anchors(page: pathlib.Path) -> set[str]:
    """GitHub's anchors of a Markdown page's headings (lower case, punctuation dropped, spaces to hyphens)."""
    headings = re.findall(r"^#+\s+(.*)$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def references() -> list[tuple[str, str, str]]:
    """(citing file, cited page relative to the root, anchor or "")."""
    found = []
    for path in tracked("*.py", "*.yaml", "*.md", "Makefile"):
        text = path.read_text()
        name = str(path.relative_to(REPO_ROOT))
        found += [(name, f"docs/{page}", anchor) for page, anchor in CITATION.findall(text)]
        if path.suffix == ".md":
            base = path.parent.relative_to(REPO_ROOT)
            found += [(name, str(base / page), anchor) for page, anchor in LINK.findall(text)]
    return found


def test_docs_references_resolve():
    refs = references()
    assert any(page == "docs/authors-code.md" and anchor for _, page, anchor in refs)  # the scan sees citations
    broken = [(name, page, anchor) for name, page, anchor in refs
              if not (REPO_ROOT / page).is_file() or (anchor and anchor not in anchors(REPO_ROOT / page))]
    assert not broken, f"references to missing pages or sections: {broken}"


def test_nothing_cites_documents_outside_the_repository():
    citing = [str(p.relative_to(REPO_ROOT)) for p in tracked("*.py", "*.yaml", "*.md")
              if p.name != pathlib.Path(__file__).name and OUTSIDE.search(p.read_text())]
    assert not citing, f"these files cite notes that are not in the repository: {citing}"


def test_anchor_rules():
    page = REPO_ROOT / "docs" / "authors-code.md"
    assert {"predictive-filtering", "dgnets-inside-jpgnet", "edgeconnect"} <= anchors(page)


def test_every_list_of_released_families_names_them_all():
    """Help texts, config comments and docs that list the families (``misf | pfunet ...``) list every one of
    ``conf/released/``: a family added there shows up in ``--help`` or this fails."""
    from inpainting.utils.released import released_families

    listing = re.compile(r"misf \| pfunet|`misf`, `pfunet`")
    for path in tracked("conf/*.yaml", "conf/hydra/help/*.yaml", "docs/*.md", "README.md"):
        text = path.read_text(encoding="utf-8")
        if listing.search(text):
            missing = [f for f in released_families() if f not in text]
            assert not missing, f"{path.relative_to(REPO_ROOT)} lists the released families without {missing}"
