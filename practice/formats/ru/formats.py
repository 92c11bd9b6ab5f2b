"""Russian dates: the month in the genitive after a day ("11 декабря 2026 г.")."""

DATE_FORMAT = "j E Y г."
DATETIME_FORMAT = "j E Y г. H:i"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
MONTH_DAY_FORMAT = "j E"
YEAR_MONTH_FORMAT = "F Y г."
