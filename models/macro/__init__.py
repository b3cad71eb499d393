# SPDX-License-Identifier: MIT
"""The analog-neuron memristive macro of the third source paper (arXiv 2509.04960): its
configuration, the behavioural analog neuron and the 128 x 24 processing elements.

See ``docs/macro.md`` for the model, the time-scaling argument and every parameter's source.
"""
from .config import (PAPER_CHIP_BIN_S, PAPER_TIME_SCALE, REFRACTORY_MODES, MacroConfig,
                     NeuronConfig, PEConfig)
from .neuron import AnalogNeuron, SpikeTrains, whole_bins
from .pe import (LayerPlacement, NetworkMapping, ProgrammedLayer, hardware_aware, map_network,
                 place_layer, program_pe, weight_levels)

__all__ = ["PAPER_CHIP_BIN_S", "PAPER_TIME_SCALE", "REFRACTORY_MODES", "MacroConfig",
           "NeuronConfig", "PEConfig", "AnalogNeuron", "SpikeTrains", "whole_bins",
           "LayerPlacement", "NetworkMapping", "ProgrammedLayer", "hardware_aware",
           "map_network", "place_layer", "program_pe", "weight_levels"]
