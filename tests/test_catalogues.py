"""Every string of our sources has a finished Spanish and Russian translation.

The sources are extracted afresh (makemessages into a copy of the catalogues), so a new
string that nobody ran ``make messages`` for fails here just like an empty or fuzzy one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("es", "ru")
DOMAINS = ("django", "djangojs")
# Where translatable strings live (tests and tooling hold none).
SOURCES = ("assessments", "clients", "practice", "reports", "templates", "static")


def _entries(po: Path, *flags: str) -> list[str]:
    """msgids that msgattrib selects with these flags (the header excluded)."""
    out = subprocess.run(
        ["msgattrib", "--no-obsolete", *flags, str(po)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = re.findall(r'^msgid "(.*)"\n((?:".*"\n)*)', out, re.MULTILINE)
    return [first + "".join(re.findall(r'"(.*)"', rest)) for first, rest in found if first or rest]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """The catalogues merged with what the sources say today, in a scratch copy.

    makemessages writes into the ``locale`` folder of the tree it walks, so it walks
    a scratch folder that links to our sources and holds a copy of the catalogues:
    the real ones are never touched.
    """
    scratch = tmp_path_factory.mktemp("catalogues")
    for name in SOURCES:
        (scratch / name).symlink_to(ROOT / name, target_is_directory=True)
    shutil.copytree(ROOT / "locale", scratch / "locale")
    from django.conf import settings

    previous, cwd = settings.LOCALE_PATHS, os.getcwd()
    settings.LOCALE_PATHS = []
    os.chdir(scratch)
    try:
        for domain in DOMAINS:
            call_command(
                "makemessages",
                locale=list(LANGUAGES),
                domain=domain,
                symlinks=True,
                verbosity=0,
            )
    finally:
        settings.LOCALE_PATHS = previous
        os.chdir(cwd)
    return scratch / "locale"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_no_string_is_untranslated_or_fuzzy(fresh, language, domain):
    po = fresh / language / "LC_MESSAGES" / f"{domain}.po"
    assert _entries(po, "--untranslated") == []
    assert _entries(po, "--only-fuzzy") == []


def test_the_sources_have_strings_to_check(fresh):
    # A check over an empty extraction would pass for nothing.
    assert len(_entries(fresh / "ru" / "LC_MESSAGES" / "django.po", "--translated")) > 900


def test_russian_has_three_plural_forms_and_uses_them():
    text = (ROOT / "locale" / "ru" / "LC_MESSAGES" / "django.po").read_text()
    assert (
        "Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && "
        "n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);" in text.replace('"\n"', "")
    )
    plurals = re.findall(r"^msgid_plural .*\n((?:.*\n)*?)\n", text, re.MULTILINE)
    assert plurals
    for block in plurals:
        assert re.findall(r"^msgstr\[(\d)\]", block, re.MULTILINE) == ["0", "1", "2"], block


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "1 пара"),
        (2, "2 пары"),
        (5, "5 пар"),
        (11, "11 пар"),
        (21, "21 пара"),
        (22, "22 пары"),
        (112, "112 пар"),
    ],
)
def test_russian_plurals_pick_the_right_form(n, expected):
    from django.utils import translation
    from django.utils.translation import ngettext

    with translation.override("ru"):
        assert ngettext("%(n)s couple", "%(n)s couples", n) % {"n": n} == expected
