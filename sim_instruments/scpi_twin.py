"""Base of the twins of SCPI instruments that report errors through ``SYST:ERR?``.

pyvisa-sim queues one generic entry (the YAML's ``command_error``) for every command it
cannot execute. A SCPI instrument says why instead; this base replaces the generic entry
of a refused setting with the standard SCPI error (IEEE 488.2 / SCPI-99 §21.8):

* ``-104,"Data type error"``: text where a number is expected;
* ``-222,"Data out of range"``: a number outside the instrument's range;
* ``-224,"Illegal parameter value"``: a word the instrument does not know;
* whatever a ``Conflict`` raised by ``check_setting`` carries (``-221,"Settings conflict"``
  and its kind: a setting that is valid alone but not together with the others).

Character parameters are accepted in long and short form, as SCPI requires
(``BURS:MODE TRIGGERED`` is ``BURS:MODE TRIG``).
"""

import re

from pyvisa_sim.devices import Device

from .twin import Twin, command, scpi_short_form

DATA_TYPE = '-104,"Data type error"'
OUT_OF_RANGE = '-222,"Data out of range"'
ILLEGAL_VALUE = '-224,"Illegal parameter value"'
#: A header and one character parameter longer than a short form (``CHANnel1``).
LONG_PARAMETER = re.compile(rb"([A-Z][A-Z0-9:]*) ([A-Za-z]{5,}[0-9]*)")


class Conflict(ValueError):
    """A setting the instrument refuses in its present state, with its error-queue entry."""

    def __init__(self, entry: str):
        super().__init__(entry)
        self.entry = entry


class ScpiTwin(Twin):
    """A SCPI instrument with a ``SYST:ERR?`` queue (declared in its YAML)."""

    scpi = True
    _refusal = None

    def execute(self, message: bytes):
        """Execute another form of a message (short form, its character parameter in
        any form) through the handlers and the YAML. None if it is not accepted: the
        refusal is reported when the original message falls through to the YAML."""
        found = LONG_PARAMETER.fullmatch(message)
        if found:
            message = found[1] + b" " + scpi_short_form(found[2])
        for pattern, handler in self._commands:
            match = pattern.fullmatch(message)
            if match:
                reply = handler(self, match)
                if reply is not None:
                    return reply
        return Device._match(self.device, message)

    @command(LONG_PARAMETER.pattern)
    def long_form_parameter(self, match):
        """A character parameter in long form (``TIM:REF CENTer``)."""
        return self.execute(match[0])

    def refused(self, name, value, error):
        if isinstance(error, Conflict):
            self._refusal = error.entry
            return
        specs = self.device._properties[name].specs
        if specs is not None and specs.type is str:
            self._refusal = ILLEGAL_VALUE
            return
        try:
            float(value)
        except ValueError:
            self._refusal = DATA_TYPE
        else:
            self._refusal = OUT_OF_RANGE

    def on_command_error(self, error_key):
        refusal, self._refusal = self._refusal, None
        if refusal is None:
            return
        for queue in self.device._error_queues.values():
            if queue._queue:
                queue._queue[-1] = refusal.encode()
