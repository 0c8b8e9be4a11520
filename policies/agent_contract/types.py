"""Type tokens of the program's components that the pack refers to (``agent-platform:<area>:<Class>``).

A token never changes once released (a rename needs ``Alias(type_=...)``), so both sides may rely on it.
"""

from __future__ import annotations

VM_AGENT_SERVICE = "agent-platform:services:VmAgentService"
