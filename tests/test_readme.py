"""The README stays a five-minute read: short, its links resolve, and the generated tables live in docs/."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_under_8_kb_and_keeps_its_two_commands():
    text = README.read_text()
    assert len(text.encode()) < 8 * 1024, f"README.md is {len(text.encode())} bytes; move detail to docs/"
    assert "make plan STACK=prod" in text and "make test" in text


def test_every_relative_link_in_the_readme_and_docs_resolves():
    for doc in [README, *sorted((ROOT / "docs").rglob("*.md"))]:
        for target in LINK.findall(doc.read_text()):
            if re.match(r"^[a-z]+:", target):
                continue
            assert (doc.parent / target).exists(), f"{doc.relative_to(ROOT)} links to missing {target}"


def test_generated_tables_live_in_docs_not_in_the_readme():
    text = README.read_text()
    for marker in ("<!-- policies:start -->", "<!-- cost:start -->", "<!-- diagram:"):
        assert marker not in text
    for doc, marker in (("docs/policies.md", "<!-- policies:start -->"), ("docs/cost.md", "<!-- cost:start -->"),
                        ("docs/diagrams.md", "<!-- diagram:security-groups:start -->")):
        assert marker in (ROOT / doc).read_text(), doc
