"""The OGC API's errors: the exception body OGC API Common describes (`code`, `description`), plus the
`detail` every other CityTwin endpoint answers, so clients of either read the message."""

from __future__ import annotations

from django.http import JsonResponse


class OGCError(Exception):
    status = 400
    code = "InvalidParameterValue"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def response(self) -> JsonResponse:
        body = {"code": self.code, "description": self.description, "detail": self.description}
        return JsonResponse(body, status=self.status)


class InvalidParameter(OGCError):
    pass


class NotFoundError(OGCError):
    status = 404
    code = "NotFound"


class NotAcceptable(OGCError):
    status = 406
    code = "NotAcceptable"
