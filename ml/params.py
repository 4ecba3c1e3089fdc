"""scikit-learn's parameter conventions, once: ``get_params``, ``set_params`` and a repr that shows
the parameters that differ from the defaults. A subclass lists its constructor parameters in
``param_names`` and stores each one under the same attribute name in ``__init__``."""

from __future__ import annotations

from typing import Any, ClassVar, Self


class Params:
    param_names: ClassVar[tuple[str, ...]] = ()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (scikit-learn's ``get_params``)."""
        return {name: getattr(self, name) for name in self.param_names}

    def set_params(self, **params: Any) -> Self:
        for name, value in params.items():
            if name not in self.param_names:
                raise ValueError(f"unknown {type(self).__name__} parameter {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = {k: v for k, v in self.get_params().items() if v != defaults[k]}
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"
