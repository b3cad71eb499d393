# SPDX-License-Identifier: MIT
"""Component helpers of the digital blocks: read-only properties of the validated parameters."""
from __future__ import annotations

__all__ = ["param_properties"]


def param_properties(*names: str):
    """Class decorator: give a component a read-only property per parameter name.

    The component keeps its validated parameter dataclass (from :mod:`golden.params`) in
    ``self._params``; the decorator adds ``params`` (the dataclass itself) and, for each name,
    a property that reads that field (so ``dut.lanes = 4`` raises ``AttributeError``).
    """
    def decorate(cls):
        cls.params = property(lambda self: self._params,
                              doc="The validated parameters (a ``golden.params`` dataclass).")
        for name in names:
            setattr(cls, name, property(lambda self, name=name: getattr(self._params, name),
                                        doc=f"``{name}`` of :attr:`params`."))
        return cls
    return decorate
