from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"
    verbose_name = "Measured spend and model-server metrics"

    def ready(self) -> None:
        from deployments.services.team_spend import set_team_spend_source
        from metering.budget import budget_spend

        # The budget check weighs what Google measured, where it measured it.
        set_team_spend_source(budget_spend)
