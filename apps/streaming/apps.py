from django.apps import AppConfig


class StreamingConfig(AppConfig):
    name = "apps.streaming"
    label = "streaming"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from apps.accounts.signals import account_changed

        from .accounts import on_account_changed, on_logged_out

        account_changed.connect(on_account_changed, dispatch_uid="streaming-account-changed")
        user_logged_out.connect(on_logged_out, dispatch_uid="streaming-logged-out")
