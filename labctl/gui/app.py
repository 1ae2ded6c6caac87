"""``labctl gui``: open the bench and show the window."""

import logging
import sys
import traceback

from PyQt5 import QtWidgets

from .window import LabWindow

log = logging.getLogger("labctl.gui")


def run(bench, data_dir=None) -> int:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("labctl")

    def unexpected(kind, value, tb):      # never crash with a traceback: log it, keep going
        log.error("unexpected error: %s", "".join(traceback.format_exception(kind, value, tb)))
    sys.excepthook = unexpected
    window = LabWindow(bench, data_dir)
    window.show()
    return app.exec_()
