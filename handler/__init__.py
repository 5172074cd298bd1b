"""The Lambda adapter: turns SQS events into inspections (built by a later issue)."""
