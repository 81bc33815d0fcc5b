"""Beat ticks never pile up: a tick that waited in a long queue past the next one is dropped."""

from django.conf import settings


def test_every_beat_entry_expires_by_its_next_tick():
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        expires = entry.get("options", {}).get("expires")
        assert expires is not None, f"{name} has no expiry: its ticks queue up behind a backlog"
        assert 0 < expires <= entry["schedule"], name
