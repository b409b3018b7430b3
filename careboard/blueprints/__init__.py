"""The blueprints: one per capability, each owning its views and forms; they share transaction.py."""
