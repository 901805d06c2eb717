"""Which card comes next: `suggest` order (uncertain first, in turns across cases), minus what is done.

`rank_fragments` runs a model over the fragments once and gives both the suggestions shown on
the cards and the order of `capcode suggest` (the smallest margin between the two most
probable values over the dimensions, taken round-robin across cases; fragments on which no
dimension can be scored come last, in file order). `ReviewQueue` holds the fragments still to
code for one coder: it leaves out what the coder already coded, sends skipped cards to the
back, puts an undone card in front again, and takes a new order after retraining without
moving the card the coder is looking at.
"""

from dataclasses import dataclass, field
from typing import Optional

from ..learn.ranking import round_robin, uncertainty
from ..predict import predictions_for
from ..probabilities import batch_probabilities, batches

STRATEGY = "margin"


@dataclass(frozen=True)
class Suggested:
    """The model's suggestion for one fragment and dimension (calibrated probability)."""

    value: str
    probability: float
    abstained: bool
    runner_up: Optional[str] = None
    runner_up_probability: Optional[float] = None

    def to_dict(self) -> dict:
        return {"value": self.value, "probability": self.probability, "abstained": self.abstained,
                "runner_up": self.runner_up, "runner_up_probability": self.runner_up_probability}


@dataclass
class Ranking:
    """A model's suggestions for every fragment and the order in which to code them."""

    model: str
    order: list  # fragment ids
    suggestions: dict = field(default_factory=dict)  # fragment id -> {dimension: Suggested}

    def for_fragment(self, fragment_id: str) -> dict:
        return self.suggestions.get(fragment_id, {})


def rank_fragments(model, codebook, fragments, thresholds) -> Ranking:
    """Suggestions and `suggest` order for `fragments` (one pass of the model over them)."""
    fragments = list(fragments)
    suggestions, scored = {}, []
    for batch in batches(fragments, 1000):
        probabilities = batch_probabilities(model, codebook, batch)
        for p in predictions_for([f.id for f in batch], probabilities, thresholds, model.name):
            suggestions.setdefault(p.fragment_id, {})[p.dimension] = Suggested(
                p.value, p.probability, p.abstained, p.runner_up, p.runner_up_probability)
        for row, fragment in enumerate(batch):
            scores = [uncertainty(proba[row], STRATEGY) for classes, proba, applies in probabilities.values()
                      if applies[row] and len(classes) > 1]
            if scores:
                scored.append((fragment, max(scores)))
    order = [item[0].id for item in round_robin(scored, len(scored))]
    placed = set(order)
    order += [f.id for f in fragments if f.id not in placed]
    return Ranking(model.name, order, suggestions)


class ReviewQueue:
    """The fragments one coder still has to code, in order; the first is the card on screen."""

    def __init__(self, order, done=(), first=()):
        done = set(done)
        first = [fid for fid in first if fid not in done]
        front = set(first)
        self._order = first + [fid for fid in order if fid not in done and fid not in front]
        self._skipped: list = []  # skipped this session, in the order they were skipped: they come last
        self.pinned: Optional[str] = None  # the card handed out last: a new order does not move it

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, fragment_id) -> bool:
        return fragment_id in self._order

    def ids(self) -> list:
        return list(self._order)

    def head(self) -> Optional[str]:
        """The next card (and remember it is on screen)."""
        self.pinned = self._order[0] if self._order else None
        return self.pinned

    def remove(self, fragment_id: str) -> None:
        """A decision was saved: the fragment leaves the queue."""
        if fragment_id in self._order:
            self._order.remove(fragment_id)
        if fragment_id in self._skipped:
            self._skipped.remove(fragment_id)
        if self.pinned == fragment_id:
            self.pinned = None

    def skip(self, fragment_id: str) -> None:
        """Send a card to the back: it comes again after every card not skipped."""
        if fragment_id not in self._order:
            return
        self._order.remove(fragment_id)
        self._order.append(fragment_id)
        if fragment_id in self._skipped:
            self._skipped.remove(fragment_id)
        self._skipped.append(fragment_id)
        if self.pinned == fragment_id:
            self.pinned = None

    def put_first(self, fragment_id: str) -> None:
        """An undone decision: its fragment is the next card again."""
        if fragment_id in self._order:
            self._order.remove(fragment_id)
        if fragment_id in self._skipped:
            self._skipped.remove(fragment_id)
        self._order.insert(0, fragment_id)
        self.pinned = fragment_id

    def reorder(self, order) -> None:
        """Take a new order (after retraining): the card on screen stays first, skipped cards stay last."""
        remaining = set(self._order)
        skipped = [fid for fid in self._skipped if fid in remaining]
        keep_first = [self.pinned] if self.pinned in remaining else []
        tail = set(skipped) | set(keep_first)
        middle = [fid for fid in order if fid in remaining and fid not in tail]
        placed = set(middle) | tail
        middle += [fid for fid in self._order if fid not in placed]  # fragments the new order lacks
        self._order = keep_first + middle + [fid for fid in skipped if fid not in keep_first]
