"""The project's settings plus one benchmark-only URL: the poll benchmark's baseline view."""

from eniadmin.settings import *  # noqa: F403

ROOT_URLCONF = "bench._urls"
