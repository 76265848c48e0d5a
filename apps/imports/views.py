"""Upload page for GIS staff (filled in below)."""
from django.http import HttpResponse


def upload(request):  # placeholder replaced in this issue
    return HttpResponse(status=501)


def detail(request, pk):
    return HttpResponse(status=501)
