"""Load a bundle folder the way the Python workers do, for the baselines."""

import json
from pathlib import Path

from launch_worker.loader import load_bundle


def load(bundle_dir: str, code_dir: str | None = None):
    """The predict callable of the bundle folder (bundle.json + artifact)."""
    folder = Path(bundle_dir)
    metadata = json.loads((folder / "bundle.json").read_text())
    config = metadata.get("app_config")
    extra = metadata.get("bundle_metadata") or {}
    return load_bundle(
        metadata["packaging_type"],
        str(folder / "artifact"),
        None if config is None else json.dumps(config),
        extra.get("load_predict_fn_module_path"),
        extra.get("load_model_fn_module_path"),
        code_dir,
    )
