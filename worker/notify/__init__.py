"""Notifications: the SMS texts (``messages``) and the senders that deliver them (``senders``)."""
