"""The glossary: terms defined once, listed A to Z, linked from their first use in each lesson
section (never inside headings, links or code), escaped; and the module page's reading aids
(section n of N, minutes of reading left)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from markupsafe import escape

from lms.curricula.glossary import linker
from lms.curricula.models import GlossaryTerm
from tests.conftest import login
from tests.test_curricula import cli, copy_curricula, edit

MODULE = "/learn/integrated-marketing-systems/strategic-alignment"


def term(slug: str, name: str, definition: str, aliases=()) -> GlossaryTerm:
    return GlossaryTerm(slug=slug, term=name, definition=definition, aliases=list(aliases))


TERMS = [
    term("mql", "MQL", "A marketing-qualified lead. More."),
    term("holdout", "holdout", "A group kept from a campaign."),
    term("clv", "CLV", "Customer lifetime value.", ["customer lifetime value"]),
    term("odd", "A<B", 'A term with "quotes" & <angle> brackets.'),
]


def test_a_term_is_linked_once_per_section_at_its_first_use() -> None:
    html = (
        "<h3>MQL targets</h3><p>Set the MQL target. Another MQL here.</p>"
        "<p>A Holdout group, then a holdout again; <code>MQL</code>; "
        '<a href="/x">MQL</a>; mql in lower case; the customer lifetime value.</p>'
    )
    out = str(linker(TERMS).link(html, "/glossary"))
    assert out.count('href="/glossary#term-mql"') == 1
    assert "<h3>MQL targets</h3>" in out  # never in a heading
    assert (
        'Set the <a class="term" href="/glossary#term-mql" '
        'title="A marketing-qualified lead.">MQL</a> target' in out
    )
    assert out.count("#term-holdout") == 1 and '">Holdout</a> group' in out
    assert "<code>MQL</code>" in out and '<a href="/x">MQL</a>' in out
    assert '">customer lifetime value</a>' in out
    # Sections link afresh: a second section gets its own first use.
    again = str(linker(TERMS).link("<p>An MQL.</p>", "/glossary"))
    assert again.count("#term-mql") == 1


def test_what_is_inserted_is_escaped() -> None:
    html = f"<p>Compare {escape('A<B')} here.</p>"
    out = str(linker(TERMS).link(html, "/glossary"))
    assert 'title="A term with &#34;quotes&#34; &amp; &lt;angle&gt; brackets."' in out
    assert "<angle>" not in out


def test_the_glossary_page_lists_every_term(client, users, curricula) -> None:
    login(client, "learner@example.com")
    page = client.get("/glossary").get_data(as_text=True)
    for slug in ("mql", "cac", "rpo", "rto", "ropa", "dpa", "ipaas", "cdp", "cmp", "sla"):
        assert f'id="term-{slug}"' in page
    assert re.search(r"The \d+ terms the lessons use", page)


def test_the_glossary_needs_a_signed_in_user(client, curricula) -> None:
    assert client.get("/glossary").status_code == 302


def test_a_module_page_links_terms_and_says_where_the_reader_is(client, users, curricula) -> None:
    login(client, "learner@example.com")
    page = client.get(MODULE).get_data(as_text=True)
    assert page.count("Section 1 of 6") == 1 and "Section 6 of 6" in page
    assert 'class="term" href="/glossary#term-mql"' in page
    assert "0 of 6 sections done, about 20 minutes of reading left" in page


def test_a_term_named_twice_is_refused_with_its_line(app: Flask, tmp_path: Path) -> None:
    root = copy_curricula(tmp_path, with_test_programme=False)
    edit(root / "glossary.yaml", "  aliases: [sales-accepted lead]\n", "  aliases: [MQL]\n")
    result = cli(app, "curricula", "validate", str(root))
    assert result.exit_code == 1
    assert "curricula/glossary.yaml:" in result.stderr
    assert "'MQL' already names the term 'mql'" in result.stderr
