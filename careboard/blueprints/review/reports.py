"""The reports archive (weekly and monthly reports): filled in by another change."""
