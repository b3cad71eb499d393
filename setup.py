# SPDX-License-Identifier: MIT
"""Install the fixed top-level folders as sub-packages of the ``dfasim`` namespace."""
from setuptools import find_packages, setup

ROOTS = ("golden", "models", "rtl", "cosim", "flows")

packages, package_dir = [], {}
for root in ROOTS:
    packages.append(f"dfasim.{root}")
    package_dir[f"dfasim.{root}"] = root
    packages += [f"dfasim.{root}.{sub}" for sub in find_packages(root)]

setup(packages=packages, package_dir=package_dir,
      package_data={"dfasim.flows": ["configs/*.toml"]})
