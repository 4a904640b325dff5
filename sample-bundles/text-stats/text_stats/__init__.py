"""The text-stats sample: a zip bundle whose code is this package."""
