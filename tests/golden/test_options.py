# SPDX-License-Identifier: MIT
"""The torch-free option names agree with the torch modules that implement the options."""
import subprocess
import sys

import pytest

from dfasim.golden import options


def test_options_module_imports_no_torch():
    code = "import sys, dfasim.golden.options; print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert res.stdout.strip() == "False"


def test_the_torch_modules_use_these_names():
    from dfasim.golden import lif, loss, network, rules, surrogate

    assert tuple(rules.RULES) == options.TRAINING_RULES
    assert rules.DFA.ERRORS is options.DFA_ERRORS
    assert tuple(surrogate.SURROGATES) == options.SURROGATE_NAMES
    assert loss.LOSSES is options.LOSSES
    for reset in options.RESETS:
        lif.LIFConfig(reset=reset)
    for neuron in options.NEURON_MODELS:
        lif.LIFConfig(neuron=neuron)
    for readout in options.READOUTS:
        network.NetworkSpec((2, 2), 1, readout=readout)


@pytest.mark.parametrize("field, bad", [("reset", "sometimes"), ("neuron", "izhikevich")])
def test_names_outside_the_tuples_are_refused(field, bad):
    from dfasim.golden.lif import LIFConfig

    with pytest.raises(ValueError, match=bad):
        LIFConfig(**{field: bad})


def test_the_adaptation_flow_uses_these_names():
    from dfasim.flows import adapt

    assert adapt.ADAPT_RULES is options.ADAPT_RULES
    assert adapt.NOISE_CHOICES is options.NOISE_CHOICES


def test_pipesdfa_paper_numbers_name_registered_networks():
    # Every network the paper's accuracy table names is one dfasim can build by that name.
    from dfasim.golden.networks import ARCHITECTURES, NETWORKS
    from dfasim.golden.papers import PIPESDFA_ACCURACY

    assert set(PIPESDFA_ACCURACY) <= set(NETWORKS) | set(ARCHITECTURES)
    assert PIPESDFA_ACCURACY["pipesdfa-nmnist-2fc"] == (98.52, 97.92)
