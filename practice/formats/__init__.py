"""Date formats per language (FORMAT_MODULE_PATH), on top of Django's own.

Templates and code name a format ("DATE_FORMAT", "SHORT_DATE_FORMAT", "MONTH_DAY_FORMAT",
"SHORT_DATETIME_FORMAT") and never spell one out, so each language writes dates its own
way: "11 December 2026", "11 de diciembre de 2026", "11 декабря 2026 г.".
"""
