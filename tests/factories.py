from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from deployments.models import Deployment
from deployments.targets.cloud_run_ollama.spec import CloudRunOllamaSpec
from portal.models import Membership, Role, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.DEPLOYER


def platform_admin(username: str = "admin"):
    user: Any = UserFactory(username=username, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="approve_deployment"))
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


class DeploymentFactory(factory.django.DjangoModelFactory):
    """A request as deployment_request() stores it, for tests that start past the request."""

    class Meta:
        model = Deployment

    team = factory.SubFactory(TeamFactory)
    slug = factory.Sequence(lambda n: f"llm-{n}")
    target = "cloud-run-ollama"
    model = "gemma3-4b"
    region = "europe-west1"
    gpu_type = "nvidia-l4"
    gpu_count = 1
    spec = factory.LazyFunction(lambda: CloudRunOllamaSpec(model="gemma3-4b").spec_json())
    requested_by = factory.SubFactory(UserFactory)
