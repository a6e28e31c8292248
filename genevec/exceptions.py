"""genevec's exceptions and warnings.

Each subclasses the builtin a user would already catch, so ``except KeyError``
or ``except ValueError`` keeps working.
"""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "GeneVecError",
    "CountsError",
    "CountsTypeError",
    "FileFormatError",
    "GeneNotFoundError",
    "NotFittedError",
    "InsufficientMemoryError",
    "TrainingDivergedError",
    "TrainingInterrupted",
    "GeneVecWarning",
    "ConvergenceWarning",
    "TrainingInterruptedWarning",
    "DataWarning",
]


class GeneVecError(Exception):
    """Base class of every error genevec raises on purpose."""


class CountsError(GeneVecError, ValueError):
    """The count matrix is not usable: negative, non-finite or non-integer values, bad shape."""


class CountsTypeError(CountsError, TypeError):
    """The count matrix holds values that are not numbers at all (strings, dicts, ...)."""


class FileFormatError(GeneVecError, ValueError):
    """A file genevec reads is malformed; the message names the file, the line and the fix."""


class GeneNotFoundError(GeneVecError, KeyError):
    """A gene is not in the model's vocabulary; the message suggests close matches."""

    def __str__(self):
        # KeyError.__str__ adds quotes around the message; keep it readable.
        return str(self.args[0]) if self.args else ""


class NotFittedError(GeneVecError, _SklearnNotFittedError):
    """A method needs a fitted model (a scikit-learn ``NotFittedError``, so ValueError and AttributeError)."""


class InsufficientMemoryError(GeneVecError, MemoryError):
    """The work would need more memory than the machine can give; raised before allocating."""


class GeneVecWarning(UserWarning):
    """Something the user should act on, e.g. genes dropped for having no counts."""


class DataWarning(GeneVecWarning):
    """The input looks unusual but is usable (a GCT dims line that does not match, merged symbols)."""


class ConvergenceWarning(GeneVecWarning, RuntimeWarning):
    """Training stopped before it converged, or was interrupted."""


class TrainingInterruptedWarning(ConvergenceWarning):
    """``fit`` was interrupted (Ctrl-C) and kept what was learned; ``model.interrupted_`` is True."""


class TrainingDivergedError(GeneVecError, FloatingPointError):
    """The training loss became NaN or infinite; the message suggests a smaller learning rate.

    ``params`` holds the parameters as they were restored (the end of the last finite epoch) and
    ``curve`` the loss of each completed epoch, so that a caller can keep the last finite model.
    """

    def __init__(self, message="", *, params=None, curve=()):
        super().__init__(message)
        self.params = params
        self.curve = list(curve)


class TrainingInterrupted(KeyboardInterrupt):
    """A solver was interrupted (Ctrl-C between kernel calls) and hands back what it had learned.

    As openTSNE's ``OptimizationInterrupt``, the exception carries the partial result: ``params``
    (consistent: every kernel call finishes its strata) and ``curve``, the loss of each completed
    epoch. It is a ``KeyboardInterrupt``, so code that does not know it still stops.
    ``GeneGloVe.fit`` catches it, keeps the partial model and sets ``interrupted_``.
    """

    def __init__(self, params, curve):
        super().__init__(f"training interrupted after epoch {len(curve)}")
        self.params = params
        self.curve = list(curve)
