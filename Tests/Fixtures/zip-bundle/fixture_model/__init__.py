"""Code of the `zip` and `zip-noconfig` fixture bundles."""
