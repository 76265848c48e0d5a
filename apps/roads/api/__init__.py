"""REST API of this app: serializers, filters, viewsets."""
