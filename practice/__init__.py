"""Attune's project package and tenancy app."""

from practice.celery import app as celery_app

__all__ = ["celery_app"]
