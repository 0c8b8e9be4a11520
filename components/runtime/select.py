"""The one place the runtime is chosen (``runtime`` in the stack config).

Only the chosen runtime's module is imported: each pulls in its own services and provider SDK modules (the EKS
runtime pulumi-kubernetes' workload types, the VM runtime its user-data rendering), a tenth of a second of a
plan's imports that a stack on the other runtime never uses (``python -X importtime -m planning``).
"""

from __future__ import annotations

from components.runtime.seam import Runtime, RuntimeInputs


def runtime_for(inputs: RuntimeInputs) -> Runtime:
    if inputs.config.runtime == "vm":
        from components.runtime.vm import VmRuntime

        return VmRuntime(inputs)
    if inputs.config.runtime == "eks":
        from components.runtime.eks import EksRuntime

        return EksRuntime(inputs)
    raise KeyError(inputs.config.runtime)  # config/platform.py allows only the two
