"""The Pulumi component that deploys the inspection pipeline (built by a later issue)."""
