import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

django_application = get_asgi_application()

# Imported once Django is set up: the proxy's streaming paths, served beside Django.
from playground.asgi import with_playground  # noqa: E402

application = with_playground(django_application)
