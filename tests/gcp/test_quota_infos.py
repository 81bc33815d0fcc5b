"""Reading a per-region quota from Cloud Quotas' quotaInfos.get reply."""

from gcp import project_checks


def test_an_entry_without_a_region_covers_the_regions_no_other_entry_names(monkeypatch):
    # Shaped as DimensionsInfo documents it: specific regions first, then the default entry
    # (no region dimension) with the locations it applies to.
    reply = {
        "dimensionsInfos": [
            {"dimensions": {"region": "us-east4"}, "details": {"value": "3"}},
            {"dimensions": {"region": "us-central1"}, "details": {"value": "-1"}},
            {
                "dimensions": {},
                "details": {"value": "1"},
                "applicableLocations": ["europe-west1", "us-east4", "us-central1"],
            },
        ]
    }
    monkeypatch.setattr(project_checks, "rest", lambda *args, **kwargs: reply)

    values = project_checks.quota_by_region("p", "run.googleapis.com", "Q")

    assert values == {"us-east4": 3, "us-central1": -1, "europe-west1": 1}


def test_the_sandbox_answers_with_a_default_entry_and_the_regions_that_differ(sandbox, settings):
    quota_id = project_checks.CLOUD_RUN_GPU_QUOTAS["nvidia-l4"]
    regions = sandbox.iam()["gpu_quota"]
    sandbox.iam(gpu_quota={**regions, "europe-west1": 0, "us-east4": 5})
    path = (
        f"/v1/projects/{settings.GCP['PROJECT']}/locations/global/services/"
        f"{project_checks.service_name('run')}/quotaInfos/{quota_id}"
    )

    infos = project_checks.rest(project_checks.CLOUD_QUOTAS, "GET", path)["dimensionsInfos"]
    values = project_checks.quota_by_region(
        settings.GCP["PROJECT"], project_checks.service_name("run"), quota_id
    )

    assert [i.get("dimensions", {}).get("region") for i in infos] == [
        "europe-west1",
        "us-east4",
        None,
    ]
    assert values == {**dict.fromkeys(regions, 3), "europe-west1": 0, "us-east4": 5}
