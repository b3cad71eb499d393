# SPDX-License-Identifier: MIT
"""The analog-neuron memristive macro of the third source paper (arXiv 2509.04960): its
configuration, the behavioural analog neuron, the 128 x 24 processing elements, the FC
network on the macro with its activity, and the energy, latency and efficiency per sample.

See ``docs/macro.md`` for the model, the time-scaling argument and every parameter's source.
"""
from .config import (PAPER_CHIP_BIN_S, PAPER_TIME_SCALE, REFRACTORY_MODES, MacroConfig,
                     NeuronConfig, PEConfig)
from .neuron import AnalogNeuron, SpikeTrains, whole_bins
from .pe import (LayerPlacement, NetworkMapping, ProgrammedLayer, hardware_aware, map_network,
                 place_layer, program_pe, weight_levels)
from .network import MacroActivity, MacroNetwork, MacroRun
from .energy import EnergyConfig, EnergyReport, efficiency, sample_energy

__all__ = ["PAPER_CHIP_BIN_S", "PAPER_TIME_SCALE", "REFRACTORY_MODES", "MacroConfig",
           "NeuronConfig", "PEConfig", "AnalogNeuron", "SpikeTrains", "whole_bins",
           "LayerPlacement", "NetworkMapping", "ProgrammedLayer", "hardware_aware",
           "map_network", "place_layer", "program_pe", "weight_levels", "MacroActivity",
           "MacroNetwork", "MacroRun", "EnergyConfig", "EnergyReport", "efficiency",
           "sample_energy"]
