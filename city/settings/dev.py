"""Development on the embedded stack (`make run`)."""

from .base import *  # noqa: F403
from .env import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
CITYTWIN_DEMO_ACCOUNTS = True
