"""One coder's review session: cards, decisions, undo, progress and the model, behind one lock.

The server is the single source of truth: the page shows what `state()` returns and sends
decisions for a named fragment, so a reload, a second tab or a restart all land on the same
card. Every method that changes something takes the lock; requests are served from a thread
pool, and the retraining result arrives on a thread of its own.
"""

import string
import threading
from typing import Optional

from .progress import Progress
from .queue import Ranking, ReviewQueue
from .store import Decision, DecisionStore, now


class ReviewError(Exception):
    """A request the session refuses; `status` is the HTTP status the page gets."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def value_keys(codebook) -> dict:
    """{(dimension, value): key}: one keyboard key per value, all different.

    The first letter of the value's id or label that is still free, else a digit: for the default
    codebook j/n (ja/nee), s/o, i/e, b/h, p/g/u. Enter, Space, Backspace and '/' are the card's own keys.
    """
    used, keys = set(), {}
    for dimension in codebook.dimensions:
        for value in dimension.values:
            candidates = [c for c in (value.id + value.label).lower() if c in string.ascii_lowercase]
            candidates += list("123456789")
            key = next((c for c in candidates if c not in used), None)
            if key is not None:
                used.add(key)
                keys[(dimension.id, value.id)] = key
    return keys


class ReviewSession:
    """The state of one coder's review; the web app calls these methods and returns what they give."""

    def __init__(self, fragments, codebook, coder: str, store: DecisionStore, ranking: Ranking, *,
                 blind: bool = False, others: Optional[dict] = None, context_fragments: int = 2,
                 retrainer=None, trained_on: int = 0, given_coded: frozenset = frozenset()):
        self.fragments = {f.id: f for f in fragments}
        self.codebook = codebook
        self.coder = coder
        self.store = store
        self.ranking = ranking
        self.blind = blind
        self.context_fragments = context_fragments
        self.retrainer = retrainer
        self.trained_on = trained_on  # fragments the given model learned from
        self.given_coded = frozenset(given_coded)  # fragments coded in --train-codings
        self.model_version = 0
        self.lock = threading.RLock()
        self._others_given = others or {}  # {fragment id: {coder: {dimension: value}}} from --train-codings
        self._neighbours = self._index_neighbours(fragments)
        done = store.coded_by(coder) | {fid for fid, coders in self._others_given.items() if coder in coders}
        self.queue = ReviewQueue(self._ordered(ranking.order), done)
        self.done_before = len(done)
        self.progress = Progress(codebook)
        for decision in store.by(coder):
            self.progress.add(decision, ranking.for_fragment(decision.fragment_id))
        self.keys = value_keys(codebook)
        self._start_count = len(store.by(coder))

    # ---- what the page shows ----------------------------------------------------------------

    @staticmethod
    def _index_neighbours(fragments) -> dict:
        by_source = {}
        for fragment in fragments:
            by_source.setdefault(fragment.source, []).append(fragment)
        index = {}
        for items in by_source.values():
            items.sort(key=lambda f: (f.start_char, f.end_char))
            for position, fragment in enumerate(items):
                index[fragment.id] = (items, position)
        return index

    def _ordered(self, order) -> list:
        """`suggest` order, with the fragments other coders coded last, or first when blind.

        Coding anew what nobody coded is what the model learns most from; a blind coder makes a
        second, independent coding, which agreement can only compare where others coded too.
        """
        coded = {fid for fid, coders in self.others_all().items() if set(coders) - {self.coder}}
        theirs = [fid for fid in order if fid in coded]
        fresh = [fid for fid in order if fid not in coded]
        return theirs + fresh if self.blind else fresh + theirs

    def others_all(self) -> dict:
        """{fragment id: {coder: {dimension: value}}}: --train-codings plus other coders in the review file."""
        out = {fid: {c: dict(v) for c, v in coders.items()} for fid, coders in self._others_given.items()}
        for decision in self.store.decisions:
            if decision.coder != self.coder:
                out.setdefault(decision.fragment_id, {}).setdefault(decision.coder, {}).update(decision.codes)
        return out

    def _fragment_dict(self, fragment) -> dict:
        return {"id": fragment.id, "source": fragment.source, "case": fragment.case,
                "respondent": fragment.respondent, "role": fragment.role, "speaker": fragment.speaker,
                "text": fragment.text, "context": fragment.context}

    def _surroundings(self, fragment_id: str) -> tuple:
        items, position = self._neighbours[fragment_id]
        n = self.context_fragments
        before = items[max(0, position - n):position]
        after = items[position + 1:position + 1 + n]
        def brief(f):
            return {"id": f.id, "speaker": f.speaker, "text": f.text, "context": f.context}
        return [brief(f) for f in before], [brief(f) for f in after]

    def card(self, fragment_id: str, previous: Optional[Decision] = None) -> dict:
        fragment = self.fragments[fragment_id]
        before, after = self._surroundings(fragment_id)
        card = {"fragment": self._fragment_dict(fragment), "before": before, "after": after,
                "model_version": self.model_version}
        if not self.blind:
            card["suggestions"] = {d: s.to_dict() for d, s in self.ranking.for_fragment(fragment_id).items()}
            others = self.others_all().get(fragment_id, {})
            card["others"] = [{"coder": c, "codes": codes} for c, codes in sorted(others.items()) if c != self.coder]
        if previous is not None:
            card["previous"] = {"values": previous.codes, "note": previous.note}
        return card

    def progress_dict(self) -> dict:
        coded = len(self.store.coded_by(self.coder) | {fid for fid in self.fragments
                                                       if self.coder in self._others_given.get(fid, {})})
        out = {"coded": coded, "queued": len(self.queue), "total": len(self.fragments),
               "this_session": max(0, len(self.store.by(self.coder)) - self._start_count),
               "dimensions": self.progress.summary(with_model=not self.blind)}
        if not self.blind:
            out["model"] = self.progress.overall()
        return out

    def model_dict(self) -> dict:
        out = {"name": self.ranking.model, "version": self.model_version}
        if self.retrainer is not None:
            out["retrain"] = self.retrainer.status()
        else:
            out["retrain"] = {"enabled": False}
        return out

    def state(self, fragment_id: Optional[str] = None, previous: Optional[Decision] = None) -> dict:
        """The card to show (the queue's first, or `fragment_id` if it is still to code), progress, model."""
        with self.lock:
            if fragment_id is not None and fragment_id in self.queue:
                current = fragment_id
            else:
                current = self.queue.head()
            return {"card": self.card(current, previous) if current else None,
                    "progress": self.progress_dict(), "model": self.model_dict()}

    def status(self) -> dict:
        with self.lock:
            return {"progress": self.progress_dict(), "model": self.model_dict()}

    # ---- what the coder does ----------------------------------------------------------------

    def _checked_values(self, values) -> tuple:
        """The decision's (dimension, value) pairs in codebook order; only dimensions that apply."""
        if not isinstance(values, dict) or not values:
            raise ReviewError("choose a value on at least one dimension.")
        codes = {}
        for dimension_id, raw in values.items():
            if not self.codebook.has_dimension(str(dimension_id)):
                raise ReviewError(f"'{dimension_id}' is not a dimension of codebook '{self.codebook.name}'.")
            dimension = self.codebook.dimension(str(dimension_id))
            value = dimension.normalize(raw) if raw not in (None, "") else None
            if raw not in (None, "") and value is None:
                raise ReviewError(f"'{raw}' is not a value of '{dimension.id}'.")
            if value is not None:
                codes[dimension.id] = value
        kept = {d: v for d, v in codes.items() if self.codebook.applies(d, codes)}
        missing = [d.label for d in self.codebook.dimensions if self.codebook.applies(d.id, kept) and d.id not in kept]
        if missing:
            raise ReviewError(f"choose a value for {', '.join(missing)}.")
        return tuple((d.id, kept[d.id]) for d in self.codebook.dimensions if d.id in kept)

    def decide(self, fragment_id: str, values, note: str = "") -> dict:
        """Save a decision (written to disk before this returns) and give the next card."""
        with self.lock:
            if fragment_id not in self.fragments:
                raise ReviewError(f"no fragment '{fragment_id}' in this review.", 404)
            if fragment_id not in self.queue:
                raise ReviewError("this fragment is already coded; the next card is shown.", 409)
            pairs = self._checked_values(values)
            note = " ".join(str(note or "").split())  # one line: the note is a cell of the codings file
            decision = Decision(fragment_id, self.coder, pairs, note, now())
            self.store.append(decision)
            self.progress.add(decision, self.ranking.for_fragment(fragment_id))
            self.queue.remove(fragment_id)
            if self.retrainer is not None:
                self.retrainer.decided(1)
            return self.state()

    def skip(self, fragment_id: str) -> dict:
        with self.lock:
            self.queue.skip(fragment_id)
            return self.state()

    def undo(self) -> dict:
        """Take back this coder's last decision: removed from the file, its card shown again with its codes."""
        with self.lock:
            decision = self.store.undo_last(self.coder)
            if decision is None:
                raise ReviewError("nothing to undo: you have no saved decisions in this file.", 409)
            self.progress.remove(decision)
            if decision.fragment_id in self.fragments:
                self.queue.put_first(decision.fragment_id)
            if self.retrainer is not None:
                self.retrainer.decided(-1)
            return self.state(decision.fragment_id, previous=decision)

    # ---- the model --------------------------------------------------------------------------

    def enough_to_retrain(self) -> tuple:
        """(ready, message): may a model trained on the given codes replace the current one?"""
        with self.lock:
            coded = len(self.given_coded | {d.fragment_id for d in self.store.decisions})
        if coded >= self.trained_on:
            return True, ""
        return False, (f"retraining waits: the codes given cover {coded} fragments, the model learned from "
                       f"{self.trained_on} (give the team's codings with --train-codings)")

    def install(self, result) -> None:
        """A retrained model's ranking: new suggestions, and the queue in its order."""
        with self.lock:
            self.ranking = result.ranking
            self.model_version = result.version
            self.queue.reorder(self._ordered(result.ranking.order))
