"""Who is the interviewer of a transcript: decided per transcript, reported in one line.

The evidence, strongest first:

1. the manifest's ``interviewer`` column for this transcript: speaker labels separated by
   ``;`` (``Sofie Claes``, ``SPEAKER_00; SPEAKER_02``), or ``geen`` when nobody interviews;
2. labels listed in ``segment.interviewer_labels`` (``I``, ``Interviewer``, ``Vraag`` ...):
   a speaker with such a label is the interviewer;
3. otherwise the turns themselves. The interviewer asks: the speaker with the largest share of
   turns that are questions, helped by shorter turns and by speaking first, is taken. Speakers
   labelled as respondents (``R``, ``Respondent 3``, ``Antwoord``) are never taken. When the
   evidence is thin (the chosen speaker asks in fewer than half of the turns, or another
   speaker asks nearly as often) capcode warns and says how to settle it.

Short back-channel turns ("Mm-hm.", "Ja.", "Oké.") are not counted as turns when comparing
speakers, and never become the context of the next answer (see segment.py).
"""

import dataclasses
import re
from dataclasses import dataclass
from typing import Optional

from .errors import InputError
from .turns import UNLABELLED, label_base, same_label

# Labels that name a respondent: never the interviewer, whatever they say.
RESPONDENT_LABELS = frozenset({"r", "resp", "respondent", "a", "antwoord", "geïnterviewde", "geinterviewde",
                               "interviewee", "b", "bevraagde"})
NO_INTERVIEWER = "geen"  # manifest value: this transcript has no interviewer (a written answer, a monologue)

# Words of a back-channel turn: listening noises and one-word acknowledgements.
BACKCHANNEL_WORDS = frozenset("""
mm mmm mmmm mhm mhmm hm hmm hmmm uhu uh-huh mm-hm mm-hmm mhm-mhm ehm euh uh um
ja jaja ja-ja jaa jawel ok oké okay oke okee oké-oké juist inderdaad zeker klopt precies goed prima
ah aha o oh ach allee tuurlijk natuurlijk zo dat ik snap het begrijp zie wel interessant
""".split())
BACKCHANNEL_MAX_WORDS = 4
# Sentence starts of a question when a speech-recognition transcript has no punctuation at all.
QUESTION_STARTS = frozenset("""
hoe wat waarom wie welke welk waar wanneer hoeveel waarover waarmee waardoor waaraan waarvoor
kunt kan kun zou zoudt zouden hebt heeft heb hebben is zijn bent ben vindt vind vinden doet doen
weet weten mag moet wil wilt klopt speelt werkt merkt ziet
""".split())
QUESTION_MAX_WORDS = 40  # a longer turn with a '?' inside (not at its end) is an answer with a rhetorical question

_WORD = re.compile(r"[\w'’-]+")
_QUESTION_END = re.compile(r"\?[\"'’”)\]»]*\s*$")
# Matches a text of more than QUESTION_MAX_WORDS words (as _WORD finds them), in one call instead of
# a match object per word; the look-ahead takes each word whole, so none can be split in two.
_LONGER_THAN_A_QUESTION = re.compile(rf"(?:[^\w'’-]*[\w'’-]+(?![\w'’-])){{{QUESTION_MAX_WORDS + 1}}}")


def is_backchannel(text: str) -> bool:
    """A turn that only signals listening: 'Mm-hm.', 'Ja.', 'Oké, ja.', 'Dat klopt.' (at most 4 words).

    Words are read one at a time and the first that is no acknowledgement decides, so an
    answer is never scanned beyond its first few words.
    """
    first = _WORD.search(text)
    if first is None:
        return False
    word = first.group()
    acknowledges = _ACKNOWLEDGING.get(word)
    if not (acknowledges if acknowledges is not None else _acknowledges(word)):
        return False  # most turns: decided by their first word
    count = 1
    for match in _WORD.finditer(text, first.end()):  # the words after the first
        count += 1
        if count > BACKCHANNEL_MAX_WORDS or not _acknowledges(match.group()):
            return False
    return True


_ACKNOWLEDGING = {}  # word -> _acknowledges(word): the words turns start with repeat
_ACKNOWLEDGING_MAX = 100_000  # forgotten when this many are known (memory stays bounded)


def _acknowledges(word: str) -> bool:
    known = _ACKNOWLEDGING.get(word)
    if known is None:
        if len(_ACKNOWLEDGING) >= _ACKNOWLEDGING_MAX:
            _ACKNOWLEDGING.clear()
        known = _ACKNOWLEDGING[word] = word.casefold().strip("'’-") in BACKCHANNEL_WORDS
    return known


def is_question(text: str) -> bool:
    """A turn that asks: it ends with '?', or is short and has one; unpunctuated, it starts like a question."""
    stripped = text.strip()
    if "?" in stripped:
        if stripped[-1] == "?":
            return True  # what _QUESTION_END finds, without searching
        return bool(_QUESTION_END.search(stripped)) or not _LONGER_THAN_A_QUESTION.match(stripped)
    if "." in stripped or "!" in stripped or ";" in stripped:  # punctuated, with no '?': no question
        return False
    first = _WORD.search(stripped)  # speech recognition without punctuation
    return (first is not None and first.group().casefold() in QUESTION_STARTS
            and not _LONGER_THAN_A_QUESTION.match(stripped))


@dataclass(frozen=True)
class SpeakerStats:
    """What one speaker does in a transcript (back-channel turns counted apart)."""

    speaker: str
    turns: int = 0           # turns that are not back-channel
    questions: int = 0
    words: int = 0           # counted only when the decision is made from the turns (speaker_stats)
    acknowledgements: int = 0
    first: bool = False      # speaks the first turn that is not back-channel

    @property
    def question_share(self) -> float:
        return self.questions / self.turns if self.turns else 0.0

    @property
    def mean_words(self) -> float:
        return self.words / self.turns if self.turns else 0.0

    def summary(self) -> str:
        """'9 of 10 turns are questions' (and the acknowledgements left out, if any)."""
        text = f"{self.questions} of {self.turns} turn{'s' if self.turns != 1 else ''} " \
               f"{'are' if self.turns != 1 else 'is a'} question{'s' if self.turns != 1 else ''}"
        if self.acknowledgements:
            text += f", besides {self.acknowledgements} short acknowledgement{'s' if self.acknowledgements != 1 else ''}"
        return text


def speaker_stats(turns, count_words: bool = True) -> list:
    """SpeakerStats for every labelled speaker, in the order they first speak.

    Without `count_words` the `words` of every speaker stay 0: only the decision from the
    turns compares turn lengths, so the others need not count the words of every answer.
    """
    return _tally(turns, count_words)[0]


def _tally(turns, count_words: bool) -> tuple:
    """(speaker_stats(turns, count_words), the speakers of turns marked is_interviewer in the order
    they first speak): decide needs both, from one pass over the turns."""
    counts, first_seen, marked = {}, None, {}  # speaker -> [turns, questions, words, acknowledgements]
    for turn in turns:
        speaker = turn.speaker
        if speaker == UNLABELLED:
            continue
        current = counts.get(speaker)
        if current is None:
            current = counts[speaker] = [0, 0, 0, 0]
        if turn.is_interviewer:
            marked[speaker] = None
        text = turn.text
        if is_backchannel(text):
            current[3] += 1
            continue
        if first_seen is None:
            first_seen = speaker
        current[0] += 1
        current[1] += is_question(text)
        if count_words:
            current[2] += len(_WORD.findall(text))
    stats = [SpeakerStats(speaker, n_turns, questions, words, acknowledgements, speaker == first_seen)
             for speaker, (n_turns, questions, words, acknowledgements) in counts.items()]
    return stats, tuple(marked)


@dataclass(frozen=True)
class Decision:
    """Who interviews in one transcript, how that was decided, and how sure it is."""

    source: str
    interviewers: tuple          # speaker labels as written in the transcript
    how: str                     # 'manifest', 'label', 'turns' or 'none'
    stats: tuple = ()            # SpeakerStats of every labelled speaker
    sure: bool = True
    reason: str = ""             # why there is no interviewer (how == 'none')
    doubt: str = ""              # why it is unsure: the other speaker who also asks

    def apply(self, turns) -> tuple:
        """The turns with is_interviewer set for exactly the interviewers' turns."""
        chosen = set(self.interviewers)
        return tuple(turn if turn.is_interviewer == (turn.speaker in chosen)
                     else dataclasses.replace(turn, is_interviewer=turn.speaker in chosen) for turn in turns)

    def _combined(self) -> SpeakerStats:
        chosen = [s for s in self.stats if s.speaker in self.interviewers]
        return SpeakerStats(", ".join(self.interviewers), sum(s.turns for s in chosen),
                            sum(s.questions for s in chosen), sum(s.words for s in chosen),
                            sum(s.acknowledgements for s in chosen))

    def line(self) -> str:
        """One line for the researcher: 'c7-r1.txt: interviewer Sofie Claes (9 of 10 turns are questions)'."""
        if self.how == "none":
            return f"{self.source}: no interviewer ({self.reason})"
        combined = self._combined()
        plural = "s" if len(self.interviewers) > 1 else ""
        origin = {"manifest": "as the manifest says; ", "label": "by label; "}.get(self.how, "")
        return f"{self.source}: interviewer{plural} {combined.speaker} ({origin}{combined.summary()})"

    def warning(self) -> Optional[str]:
        """A warning when the decision may be wrong, saying how to settle it; None when sure."""
        if self.sure:
            return None
        combined = self._combined()
        if self.how == "label":
            return (f"{self.source}: interviewer {combined.speaker} by label, but only {combined.summary()}, "
                    f"while {self.doubt}; check the speaker labels, or name the interviewer in the manifest "
                    "column 'interviewer'.")
        return (f"{self.source}: not sure who the interviewer is; took {combined.speaker} ({combined.summary()})"
                f"{'; ' + self.doubt if self.doubt else ''}. If that is wrong, name the interviewer in the "
                "manifest column 'interviewer' (or 'geen' when there is none).")


def decide(turns, source: str, named=None, origin: str = "manifest") -> Decision:
    """Decide who interviews in one transcript's turns.

    `named`: the manifest's interviewer labels for this transcript (None when it names none;
    an empty tuple for 'geen'). Otherwise turns already marked is_interviewer (their label is
    in segment.interviewer_labels) decide; otherwise the turns' own evidence. A name in
    `named` that no speaker has raises InputError naming `origin`.
    """
    stats, labelled = _tally(turns, count_words=False)
    if named is not None:
        speakers = [s.speaker for s in stats]
        chosen = []
        for name in named:
            match = next((s for s in speakers if same_label(s, name)), None)
            if match is None:
                found = ", ".join(f"'{s}'" for s in speakers) or "none"
                raise InputError(f"{origin}: interviewer '{name}' is not a speaker in {source} (speakers found: "
                                 f"{found}); write the label as in the transcript, or '{NO_INTERVIEWER}'.")
            chosen.append(match)
        if not chosen:
            return Decision(source, (), "none", tuple(stats), reason=f"the manifest says '{NO_INTERVIEWER}'")
        return Decision(source, tuple(dict.fromkeys(chosen)), "manifest", tuple(stats))

    if labelled:
        return _check_labelled(Decision(source, labelled, "label", tuple(stats)))
    if not stats:
        return Decision(source, (), "none", (), reason="no speaker labels")
    candidates = [s for s in stats if label_base(s.speaker) not in RESPONDENT_LABELS]
    if len(stats) == 1:
        return Decision(source, (), "none", tuple(stats), reason=f"one speaker only, {stats[0].speaker}")
    if not candidates:
        return Decision(source, (), "none", tuple(stats),
                        reason=f"only respondent labels: {', '.join(s.speaker for s in stats)}")
    stats = speaker_stats(turns)  # now with the words: shorter turns count towards asking
    candidates = [s for s in stats if label_base(s.speaker) not in RESPONDENT_LABELS]
    return _from_turns(source, stats, candidates)


def _from_turns(source, stats, candidates) -> Decision:
    """The speaker who asks most (then: shorter turns, speaks first); unsure when the evidence is thin."""
    longest = max(s.mean_words for s in stats) or 1.0

    def score(s):
        return s.question_share + 0.2 * s.first + 0.3 * (1 - s.mean_words / longest)

    best = max(candidates, key=score)
    others = [s for s in stats if s is not best]
    rival = max(others, key=lambda s: s.question_share)
    sure = best.question_share >= 0.5 and best.question_share - rival.question_share >= 0.3
    doubt = "" if sure or not rival.questions else f"{rival.speaker} asks too ({rival.summary()})"
    return Decision(source, (best.speaker,), "turns", tuple(stats), sure=sure, doubt=doubt)


def _check_labelled(decision: Decision) -> Decision:
    """An interviewer by label who hardly asks while another speaker mostly asks: labels swapped?"""
    combined = decision._combined()
    others = [s for s in decision.stats if s.speaker not in decision.interviewers and s.turns]
    if not combined.turns or not others:
        return decision
    rival = max(others, key=lambda s: s.question_share)
    if combined.question_share < 0.2 and rival.question_share >= 0.5:
        return dataclasses.replace(decision, sure=False, doubt=f"{rival.speaker} asks ({rival.summary()})")
    return decision


def parse_named(value) -> Optional[tuple]:
    """A manifest cell into interviewer labels: '' -> None (decide), 'geen' -> (), 'A; B' -> ('A', 'B')."""
    text = " ".join(str(value if value is not None else "").split())
    if not text or text.casefold() == "onbekend":
        return None
    if text.casefold() in (NO_INTERVIEWER, "none", "-"):
        return ()
    return tuple(name.strip() for name in text.split(";") if name.strip())
