"""python manage.py run_ingest: the MQTT ingest worker (a separate process; `make run` starts it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.telemetry import conf
from apps.telemetry.mqtt import IngestWorker


class Command(BaseCommand):
    help = "Subscribe to sensor readings over MQTT (QoS 1, persistent session) and store them in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=settings.MQTT_URL, help="Broker URL (default: MQTT_URL).")
        parser.add_argument("--client-id", default="citytwin-ingest")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--flush-interval",
            type=float,
            default=0.0,
            help="Seconds to wait at most for a full batch once a message is there (default 0: write at once; "
            "the batch grows by itself while the previous one is written).",
        )
        parser.add_argument(
            "--share-group",
            default=conf.mqtt_share_group(),
            help="Subscribe to $share/<group>/... so that several workers split the stream (default: "
            "CITYTWIN_MQTT_SHARE_GROUP; none). Every worker needs its own fixed --client-id.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = IngestWorker(
            options["url"],
            client_id=options["client_id"],
            batch_size=options["batch_size"],
            flush_interval=options["flush_interval"],
            share_group=options["share_group"] or None,
        )
        worker.install_signal_handlers()
        self.stdout.write(f"ingest worker: {options['url']} as {options['client_id']}, topic {worker.topic}")
        stats = worker.run()
        self.stdout.write(f"ingest worker stopped: {stats}")
