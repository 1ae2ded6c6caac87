"""The bench GUI (PyQt5 + pyqtgraph). It observes the record stream and sends commands
to the runner; it does no instrument I/O and no physics of its own."""
