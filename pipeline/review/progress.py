"""The progress panel: what the coder coded per dimension, and how often the model's suggestion was kept.

Each decision is compared with the suggestion the model gave for that fragment when the
decision was saved (for decisions of an earlier session: the suggestion of the model the
review started with). Per dimension the panel shows the share of suggestions kept and
Cohen's kappa between the coder and the model over the fragments where both gave a value
(`pipeline.agreement.statistics.cohen_kappa`, the definition `capcode agreement` uses).
"""

import collections

import numpy as np

from ..agreement.statistics import cohen_kappa


class Progress:
    """Running counts of one coder's decisions and their agreement with the model's suggestions."""

    def __init__(self, codebook):
        self.codebook = codebook
        self.counts = {d.id: collections.Counter() for d in codebook.dimensions}
        self.pairs = {d.id: [] for d in codebook.dimensions}  # (fragment id, coder's value, model's value)

    def add(self, decision, suggestions: dict) -> None:
        """Count a decision; `suggestions` {dimension: Suggested} shown for its fragment (may be empty)."""
        for dimension, value in decision.values:
            if dimension not in self.counts:
                continue
            self.counts[dimension][value] += 1
            suggested = suggestions.get(dimension)
            if suggested is not None:
                self.pairs[dimension].append((decision.fragment_id, value, suggested.value))

    def remove(self, decision) -> None:
        """Take an undone decision out again."""
        for dimension, value in decision.values:
            if dimension not in self.counts:
                continue
            self.counts[dimension][value] -= 1
            if self.counts[dimension][value] <= 0:
                del self.counts[dimension][value]
            pairs = self.pairs[dimension]
            for index in range(len(pairs) - 1, -1, -1):
                if pairs[index][0] == decision.fragment_id:
                    del pairs[index]
                    break

    def summary(self, with_model: bool = True) -> list:
        """Per dimension: counts per value (codebook order) and, `with_model`, kept share and kappa."""
        out = []
        for dimension in self.codebook.dimensions:
            counts = self.counts[dimension.id]
            item = {"id": dimension.id, "label": dimension.label, "n": sum(counts.values()),
                    "counts": [{"value": v.id, "label": v.label, "n": counts.get(v.id, 0)} for v in dimension.values]}
            if with_model:
                item.update(self.agreement(dimension))
            out.append(item)
        return out

    def agreement(self, dimension) -> dict:
        pairs = self.pairs[dimension.id]
        if not pairs:
            return {"compared": 0, "kept": None, "kappa": None}
        index = {v: i for i, v in enumerate(dimension.value_ids)}
        coder = np.array([index[c] for _, c, _ in pairs])
        model = np.array([index.get(m, -1) for _, _, m in pairs])
        kept = float(np.mean(coder == model))
        valid = model >= 0
        kappa = cohen_kappa(coder[valid], model[valid], len(index)) if valid.any() else None
        return {"compared": len(pairs), "kept": round(kept, 3),
                "kappa": None if kappa is None else round(float(kappa), 3)}

    def overall(self) -> dict:
        """Kept share over every compared code, and the mean of the dimensions' kappas."""
        compared = sum(len(p) for p in self.pairs.values())
        kept = sum(1 for pairs in self.pairs.values() for _, c, m in pairs if c == m)
        kappas = [a["kappa"] for a in (self.agreement(d) for d in self.codebook.dimensions) if a["kappa"] is not None]
        return {"compared": compared, "kept": round(kept / compared, 3) if compared else None,
                "kappa": round(sum(kappas) / len(kappas), 3) if kappas else None}
