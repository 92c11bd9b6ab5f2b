from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The fictional practice `make run` loads: the top layer, free to use every app."""

    name = "demo"
