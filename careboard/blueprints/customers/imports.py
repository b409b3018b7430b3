"""Customer pages: being written."""
