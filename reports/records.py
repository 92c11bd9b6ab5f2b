"""The shape of a report snapshot: typed records of what ``reports.snapshot.build`` freezes.

They are TypedDicts, so a snapshot is still the plain JSON-ready dict stored in
``Report.snapshot`` (the stored format does not change) and templates read it as
before, while the code that builds and reads it is checked by mypy. Keys marked
``NotRequired`` are left out of a version that may not show them: the couple version
has no ``alerts``, ``safety`` or ``method``, and no ``partners`` unless the practice
shows partners' totals; what is not in the snapshot cannot leak into its PDF.
Dates and times are ISO strings.
"""

from typing import NotRequired, TypedDict

from assessments.services.change import NormsRecord


class PracticeRecord(TypedDict):
    name: str
    accent: str
    logo: str  # a data: URL, or ""


class CoupleRecord(TypedDict):
    label: str
    start_date: str


class PeriodRecord(TypedDict):
    start: str
    end: str


class Point(TypedDict):
    at: str
    value: float


class Band(TypedDict):
    low: float
    high: float
    label: str


class CoupleChange(TypedDict):
    """The composite's change: always its word; its numbers only where numbers may show."""

    word: str
    first: NotRequired[float | None]
    latest: NotRequired[float | None]
    rc: NotRequired[float | None]


class Area(TypedDict):
    """A subscale of the couple version: words and a level, its mean only with numbers on."""

    key: str
    label: str
    mean: float | None
    since_start: str
    level: str


class CoupleTrend(TypedDict):
    numbers: bool  # whether this version may show the couple's numbers
    series: list[Point]
    latest_mean: float | None
    latest_at: str | None
    first_at: str | None
    forms: int
    band: str
    since_start: CoupleChange
    since_previous: CoupleChange
    level: str
    gap_series: NotRequired[list[Point]]  # clinician version
    subscales: NotRequired[list[Area]]  # couple version


class ReliableChange(TypedDict):
    x1: float
    x2: float
    rci: float
    change_class: str


class PartnerSeries(TypedDict):
    """One partner's totals: the clinician version's with change statistics; the couple
    version's (with partners' totals on) on shared items only, without them."""

    series: list[Point]
    reliable: list[int]
    latest: float | None
    first: float | None
    band: NotRequired[str]
    rci: NotRequired[float | None]
    change_class: NotRequired[str]
    since_start: NotRequired[ReliableChange | None]
    since_previous: NotRequired[ReliableChange | None]
    open_alert: NotRequired[str | None]


class Subscale(TypedDict):
    label: str
    values: list[float | None]  # per partner, from each one's latest form


class ScaleAgreement(TypedDict):
    key: str
    label: str
    total: bool
    n_items: int  # shared items on the scale
    mean: float | None
    band: str


class ItemAgreement(TypedDict):
    text: str
    one: str  # answers as their labels
    two: str
    gap: float | None
    flagged: bool
    strength: bool
    growth: bool
    growth_reason: str | None


class Answered(TypedDict):
    text: str
    answers: str  # both answers, "one · two"


class GrowthArea(Answered):
    reason: str


class Agreement(TypedDict):
    """The latest form of the period both partners completed, compared."""

    date: str
    scales: list[ScaleAgreement]
    items: NotRequired[list[ItemAgreement]]
    strengths: NotRequired[list[Answered]]
    growth: NotRequired[list[GrowthArea]]


class InstrumentRecord(TypedDict):
    key: str
    title: str
    version: int
    scale_label: str
    range: list[float]
    higher_is_better: bool
    bands: list[Band]  # clinician version only; [] in the couple version
    provenance: str
    has_published_norms: bool
    practice_authored: bool
    validated: bool
    n_items: int
    profile_range: list[float] | None
    norms: NormsRecord
    couple: CoupleTrend
    partners: NotRequired[list[PartnerSeries]]
    subscales: NotRequired[list[Subscale]]  # clinician version
    agreement: NotRequired[Agreement | None]  # clinician version


class AlertRecord(TypedDict):
    kind: str
    instrument: str
    created: str
    status: str
    partner: str
    text: str
    note: str


class SafetyRecord(TypedDict):
    partner: str
    date: str
    title: str
    positive: list[str]  # the items that raised an alert


class MethodRecord(TypedDict):
    reliable: float
    large: float
    min_sample: int
    min_reliability: float


class SummaryEntry(TypedDict):
    label: str
    instrument: str
    about: str


class ChangeEntry(TypedDict):
    instrument: str
    word: str


class CheckIn(TypedDict):
    title: str
    forms: int


class Summary(TypedDict):
    strengths: list[SummaryEntry]
    growth: list[SummaryEntry]
    changes: list[ChangeEntry]
    check_ins: list[CheckIn]


class Snapshot(TypedDict):
    version: int
    kind: str
    language: str
    report: str
    generated_at: str
    timezone: str
    practice: PracticeRecord
    couple: CoupleRecord
    clinicians: list[str]
    period: PeriodRecord
    show_partners: bool
    instruments: list[InstrumentRecord]
    partners: NotRequired[list[str]]
    summary: NotRequired[Summary]  # couple version
    method: NotRequired[MethodRecord]  # clinician version
    alerts: NotRequired[list[AlertRecord]]  # clinician version
    safety: NotRequired[list[SafetyRecord]]  # clinician version
