"""Settings of the server that tests/test_openapi.py runs schemathesis against: the test settings, with the
throttle rates raised. schemathesis sends about two thousand requests per role in well under a minute;
at the real rates most of them would be answered 429 (documented, so not a failure, but then the other
answers would go untested). Throttling itself is tested on its own."""

from city.settings.test import *  # noqa: F403

REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        scope: "1000000/min"
        for scope in {"anon", "user", *REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})}  # noqa: F405
    },
}
