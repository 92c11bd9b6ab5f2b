"""Regenerate docs/screenshots/: the form builder, a couple's page and both report kinds.

    .venv/bin/python scripts/screenshots.py            # or: make screenshots

Runs against the database that DATABASE_URL names (a scratch one is best: it adds the
demo practice when missing, as `make run` does, and a practice form for the builder).
Pages are drawn by Debian's Chromium through Playwright from a server this script
starts on 127.0.0.1 for the length of the run; the PDF reports are rendered in
process by the same code the worker uses and turned into PNG pages by pdftoppm.
Nothing leaves the machine, and the demo data is made up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 900
# Report pages at this resolution are readable and keep the PNGs small.
PDF_DPI = "60"

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "practice.settings")
# Playwright's sync API runs an event loop in this thread; the ORM calls here are ordinary
# blocking calls made between browser steps (the escape hatch the browser tests use too).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

# A form for the builder shot: six items on a shared answer set, two scales, three languages.
QUESTIONS = [
    (
        "I feel close to my partner.",
        "Me siento cerca de mi pareja.",
        "Я чувствую близость с партнёром.",
    ),
    ("We share our days.", "Compartimos nuestros días.", "Мы делимся тем, как прошёл день."),
    (
        "I feel alone in this relationship.",
        "Me siento solo en esta relación.",
        "Я чувствую себя одиноко в этих отношениях.",
    ),
    (
        "Our arguments calm down quickly.",
        "Nuestras discusiones se calman rápido.",
        "Наши ссоры быстро утихают.",
    ),
    (
        "I can say what bothers me.",
        "Puedo decir lo que me molesta.",
        "Я могу сказать, что меня беспокоит.",
    ),
    ("We repair after a fight.", "Nos reconciliamos después de pelear.", "Мы миримся после ссоры."),
]


def sample_form(practice_name: str) -> dict:
    from assessments import builder

    definition = builder.starter_definition(practice_name)
    definition.update(
        key="weekly-check-in",
        version=1,
        practice_authored=True,
        validated=False,
        title={"en": "Weekly check-in", "es": "Chequeo semanal", "ru": "Еженедельная проверка"},
        description={
            "en": "Six short questions about the past week.",
            "es": "Seis preguntas breves sobre la última semana.",
            "ru": "Шесть коротких вопросов о прошедшей неделе.",
        },
        items=[
            {
                "link_id": f"q{n}",
                "type": "ordinal",
                "answer_set": "agree5",
                "text": {"en": en, "es": es, "ru": ru},
                **({"reverse": True} if n == 3 else {}),
            }
            for n, (en, es, ru) in enumerate(QUESTIONS, start=1)
        ],
        scales=[
            {
                "key": "closeness",
                "label": {"en": "Closeness", "es": "Cercanía", "ru": "Близость"},
                "items": ["q1", "q2", "q3"],
                "method": "mean",
                "min_answered": 2,
                "total": True,
            },
            {
                "key": "calm",
                "label": {"en": "Calm", "es": "Calma", "ru": "Спокойствие"},
                "items": ["q4", "q5", "q6"],
                "method": "mean",
                "min_answered": 2,
            },
        ],
    )
    return definition


def prepare() -> tuple[object, object, object]:
    """The demo practice, its owner and the couple shown, with a practice form to build on."""
    import django

    django.setup()
    from django.core.management import call_command
    from django_scopes import scope

    from assessments.models import Instrument
    from assessments.services import instruments as instrument_services
    from clients.models import Couple
    from demo import staff as demo
    from demo import synthetic
    from practice.models import User

    call_command("migrate", verbosity=0, interactive=False)
    practice, created = demo.build_practice()
    if created:
        synthetic.build(practice)
    owner_login = demo.staff_logins()[0]
    owner = User.objects.get(email=owner_login.email)
    with scope(practice=practice):
        definition = sample_form(practice.name)
        if not Instrument.objects.filter(practice=practice, key=definition["key"]).exists():
            instrument_services.upload(practice=practice, actor=owner, definition=definition)
        form = Instrument.objects.filter(practice=practice, key=definition["key"]).first()
        couple = Couple.objects.get(label="Alder & Brook")
    return practice, (owner_login, form), couple


def report_pages(practice: object, couple: object, kind: str, workdir: Path) -> list[Path]:
    """Draw one report of the couple's last three months and split it into PNG pages."""
    from datetime import timedelta

    from django.utils import timezone, translation
    from django_scopes import scope

    from reports import render, snapshot
    from reports.models import Report

    today = timezone.localdate()
    with scope(practice=practice):
        # Not queued: drawn here with the worker's own code, then removed again.
        report = Report.objects.create(
            practice=practice,
            couple=couple,
            kind=kind,
            period_start=today - timedelta(days=90),
            period_end=today,
            language="en",
        )
        try:
            with translation.override("en"):
                pdf = render.render(snapshot.build(report))
        finally:
            report.delete()
    source = workdir / f"{kind}.pdf"
    source.write_bytes(pdf)
    for old in OUT.glob(f"report-{kind}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-png", "-r", PDF_DPI, str(source), str(OUT / f"report-{kind}")],
        check=True,
    )
    return sorted(OUT.glob(f"report-{kind}-*.png"))


def pages(practice: object, login_and_form: tuple, couple: object) -> list[Path]:
    """Screenshots of the builder and the couple's page, through a real sign-in."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    login, form = login_and_form
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    base = f"http://127.0.0.1:{server.port}"
    slug = practice.slug  # type: ignore[attr-defined]
    shots = []
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.goto(f"{base}/accounts/sign-in/")
        page.locator("#id_username").fill(login.email)
        page.locator("#id_password").fill(login.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/accounts/sign-in/" not in url)

        page.goto(f"{base}/p/{slug}/instruments/{form.uuid}/build/")
        # The live check runs once the page is loaded; its answer replaces the summary.
        page.wait_for_load_state("networkidle")
        summary = page.locator("#builder-summary").inner_text()
        if not summary.startswith("No problems"):
            raise SystemExit(f"the sample form has problems in the builder: {summary}")
        # The items and the preview beside them, not the form's whole length.
        page.evaluate("document.getElementById('h-items').scrollIntoView()")
        page.evaluate("window.scrollBy(0, -16)")
        shots.append(OUT / "builder.png")
        page.screenshot(path=shots[-1])

        page.goto(f"{base}/p/{slug}/couples/{couple.uuid}/")  # type: ignore[attr-defined]
        shots.append(OUT / "couple-overview.png")
        page.screenshot(path=shots[-1])
        browser.close()
    finally:
        playwright.stop()
        server.terminate()
    return shots


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is needed (apt-get install chromium)", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    practice, login_and_form, couple = prepare()
    written = pages(practice, login_and_form, couple)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("couple", "clinician"):
            written += report_pages(practice, couple, kind, Path(tmp))
    for path in written:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
