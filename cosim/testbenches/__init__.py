# SPDX-License-Identifier: MIT
"""cocotb testbenches of the digital blocks, loaded by name inside the simulator process.

One module per block (:mod:`.grad_lif`, :mod:`.psum`, :mod:`.shift_add`, :mod:`.wgu`,
:mod:`.pingpong`, and :mod:`.cosim_wgu` for a co-simulated layer) holds only ``@cocotb.test()``
coroutines and their stream drivers; :mod:`.coverage` holds the functional cover points they
sample. A run is configured by JSON in an environment variable per block (e.g.
``PSUM_CONFIG``); the pytest entries (``tests/cocotb/test_*_cocotb.py``) and
``dfasim rtl verify`` (:mod:`cosim.regression`) start them through :func:`cosim.runner.run_cocotb`.
Importing this package imports no cocotb.
"""

__all__: list[str] = []
