"""The reason a person gives for a decision or a tear down: free text, but bounded.

It is stored in the timeline and sent in notifications, so every route (page, API,
service called directly) refuses the same oversized text in the same way.
"""

from portal.exceptions import ValidationFailed

REASON_MAX = 2000


def reason_checked(reason: str) -> str:
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            f"Keep the reason under {REASON_MAX} characters.",
            fields={"reason": [f"At most {REASON_MAX} characters."]},
        )
    return reason
