"""Analysis library: plain numpy/scipy/lmfit functions, no I/O, no Qt, no instruments.

The same functions run live on the record stream and on stored runs.

``threshold``     lasing/ASE threshold from light-in/light-out data (``find_threshold``)
``spectra``       background, peak, width, integrals, two-band decomposition, Q, mode spacing
``gain``          net modal gain from variable-stripe-length data
``polarization``  Malus's law, degree of linear polarization, fine-structure splitting
``decays``        multi-exponential decays with instrument response; streak windows
``pump``          pump units, photon fluence, ⟨N⟩ = σ·j, cross-section from saturation
``powerlaw``      log-log slopes with confidence intervals
``temperature``   thermal quenching, peak shift and broadening versus temperature
``series``        thresholds and gains versus a control variable; linear trends
``models``        the model functions; ``fitting`` the result type ``Fit``
``synthetic``     synthetic data with known truth (tests and benchmarks)
"""
