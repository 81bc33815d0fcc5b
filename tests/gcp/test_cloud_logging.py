"""The Cloud Logging adapter on the official client, against the sandbox's entries.list."""

from gcp import cloud_logging
from tests.sandbox import helpers
from tests.sandbox.conftest import build_client, credentials, registry_client  # noqa: F401
from tests.sandbox.helpers import PARENT


def test_a_builds_log_newest_first(sandbox, registry_client, build_client):  # noqa: F811
    helpers.create_repository(registry_client)
    build = helpers.wait(
        build_client.create_build(
            parent=PARENT,
            build=helpers.image_build(helpers.image_uri(name="adapter"), helpers.DOCKERFILE),
        )
    )

    lines = cloud_logging.build_log(build_name=f"{PARENT}/builds/{build.id}")

    assert lines[0].text == "DONE"
    assert lines[-1].text == f'starting build "{build.id}"'
    assert all(line.at is not None for line in lines)
    assert lines[0].at >= lines[-1].at
    assert cloud_logging.build_log(build_name=f"{PARENT}/builds/another", limit=5) == []


def test_the_limit_bounds_the_lines(sandbox, registry_client, build_client):  # noqa: F811
    helpers.create_repository(registry_client)
    build = helpers.wait(
        build_client.create_build(
            parent=PARENT,
            build=helpers.image_build(helpers.image_uri(name="short"), helpers.DOCKERFILE),
        )
    )

    lines = cloud_logging.build_log(build_name=build.id, limit=2)

    assert [line.text for line in lines][:1] == ["DONE"] and len(lines) == 2
