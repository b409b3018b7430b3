"""Domain rules as plain functions: they take a session and values, never commit."""
