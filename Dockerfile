# Attune web, worker and beat image. Build: docker build -t attune .
FROM python:3.12-slim-bookworm

# WeasyPrint renders with Pango; fonts-dejavu gives reports a full glyph set; poppler-utils
# draws report pages as pictures for the preview before release.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext poppler-utils \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ATTUNE_VAR_DIR=/var/lib/attune MANIFEST_STATIC=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY requirements/ requirements/
RUN pip install --no-cache-dir -c requirements/lock.txt .

COPY . .
RUN useradd --system --home /var/lib/attune attune \
 && mkdir -p /var/lib/attune \
 && SECRET_KEY=build-only python manage.py collectstatic --no-input \
 && SECRET_KEY=build-only python manage.py compilemessages \
 && chown -R attune /var/lib/attune
USER attune

EXPOSE 8000
CMD ["gunicorn", "practice.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
