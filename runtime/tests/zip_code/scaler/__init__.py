"""Code of the zip bundles in the tests."""
