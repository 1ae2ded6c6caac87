"""Instrument drivers (one module per model) and the role interfaces they fulfil."""
