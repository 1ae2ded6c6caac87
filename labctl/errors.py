"""The exceptions labctl raises on purpose.

Every one of them carries a message a physicist can act on: it names the thing that is
wrong (parameter, config key, instrument), the offending value and the limit or the
expectation. The CLI turns ``UsageError`` subclasses into exit status 2.
"""


class LabctlError(Exception):
    """Base class of every error labctl raises deliberately."""


class UsageError(LabctlError):
    """Bad input from the user: nothing was sent to any instrument."""


class ConfigError(UsageError):
    """A bench config or sample file is malformed (file, key and problem in the message)."""

    def __init__(self, source, key, problem):
        self.source, self.key, self.problem = str(source), key, problem
        where = f"{self.source}: {key}" if key else self.source
        super().__init__(f"{where}: {problem}")


class ParameterError(UsageError, ValueError):
    """A procedure parameter is invalid (name, value and limit in the message)."""

    def __init__(self, name, value, problem):
        self.name, self.value, self.problem = name, value, problem
        super().__init__(f"parameter {name}={value!r}: {problem}")


class SafetyError(UsageError):
    """A setpoint lies outside the bench's safety envelope; it was not sent."""

    def __init__(self, quantity, value, limit, source="safety envelope"):
        self.quantity, self.value, self.limit = quantity, value, limit
        super().__init__(f"{quantity} {value} is outside the {source}: {limit}")


class PlanRefused(SafetyError):
    """A dry run found setpoints outside the envelope; the run was not started."""

    def __init__(self, procedure, violations):
        self.violations = list(violations)
        UsageError.__init__(self, f"dry run of {procedure}: {len(self.violations)} setpoint(s) "
                            "outside the safety envelope, nothing was sent:\n  "
                            + "\n  ".join(self.violations))


class InstrumentError(LabctlError):
    """An instrument failed: names the role, the resource and what failed. ``silent``:
    it did not answer at all (timeouts past every retry, connection lost)."""

    def __init__(self, role, resource, message, command=None, silent=False):
        self.role, self.resource, self.command, self.silent = role, resource, command, silent
        detail = f" (command {command!r})" if command else ""
        super().__init__(f"{role} at {resource}: {message}{detail}")


class RunFileError(UsageError):
    """A run file that does not exist or is not a labctl run file."""


class StorageError(LabctlError):
    """The run file or the catalog cannot be written (disk full, quota, permissions):
    the run stops there; the steps completed before stay in the file."""


class RoleBusy(LabctlError):
    """An instrument is in use by a run; manual commands are locked out."""
