"""The one place the runtime is chosen (``runtime`` in the stack config)."""

from __future__ import annotations

from components.runtime.eks import EksRuntime
from components.runtime.seam import Runtime, RuntimeInputs
from components.runtime.vm import VmRuntime

RUNTIMES: dict[str, type[EksRuntime] | type[VmRuntime]] = {"eks": EksRuntime, "vm": VmRuntime}


def runtime_for(inputs: RuntimeInputs) -> Runtime:
    return RUNTIMES[inputs.config.runtime](inputs)
