"""Console progress for headless runs: a progress bar with ETA and live results."""

import sys

from tqdm import tqdm

from .records import Analysis, Start, Step, Stop


class ProgressBar:
    """Record subscriber drawing one progress bar per top-level run on stderr."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.bar = None
        self.uid = None
        self.postfix = {}

    def __call__(self, record) -> None:
        if isinstance(record, Start) and record.parent is None:
            self.uid = record.uid
            self.bar = tqdm(total=record.plan.get("steps") or None, desc=record.procedure,
                            unit="step", file=self.stream, dynamic_ncols=True, leave=True)
        elif self.bar is None or getattr(record, "uid", None) != self.uid:
            return
        elif isinstance(record, Step):
            self.bar.update(1)
        elif isinstance(record, Analysis):
            threshold = record.results.get("threshold")
            if threshold and threshold.get("found"):
                self.postfix["threshold"] = f"{threshold['value']:.3g}"
            self.bar.set_postfix(self.postfix, refresh=False)
        elif isinstance(record, Stop):
            self.bar.set_description(f"{self.bar.desc} ({record.status})")
            self.bar.close()
            self.bar = None
