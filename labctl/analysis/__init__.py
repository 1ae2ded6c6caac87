"""Analysis library: plain numpy/scipy/lmfit functions, no I/O, no Qt, no instruments.

The same functions run live on the record stream and on stored runs.
"""
