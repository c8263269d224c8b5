"""Notifications: the SMS texts, and (from the worker issue on) the senders that deliver them."""
