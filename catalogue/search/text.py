"""Text handling shared by both engines: one normalisation for documents, vocabulary and queries."""

import re
import unicodedata

#: Letters and digits; everything else (punctuation, FTS operators, emoji, NUL) separates words.
_WORD = re.compile(r"[^\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

#: Longest query kept, in characters, and most words searched.
MAX_QUERY_LENGTH = 200
MAX_WORDS = 12
#: Longest vocabulary word (SearchWord.word) and shortest word a typo is corrected in.
MAX_WORD_LENGTH = 60
MIN_TYPO_LENGTH = 5


def normalize(text: str) -> str:
    """Lower-case ``text`` and strip its accents: ``Œuvres d'Aliénor`` → ``oeuvres d'alienor``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order."""
    return _WORD.findall(normalize(text))


def query_words(query: str) -> list[str]:
    """The words a reader's query searches for, bounded in number and length."""
    return [w[:MAX_WORD_LENGTH] for w in words(query[: MAX_QUERY_LENGTH * 2])][:MAX_WORDS]


def edits1(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in ALPHABET}
    inserts = {a + c + b for a, b in splits for c in ALPHABET}
    return (deletes | transposes | replaces | inserts) - {word}
