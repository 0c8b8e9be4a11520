"""Entry point the Pulumi CLI runs for ``--policy-pack policies``: build the pack and serve it.

Constructing ``PolicyPack`` starts the analyzer's gRPC server and never returns, so nothing else may
import this module; the offline review loads ``agent_policies.pack.all_policies()`` instead.
"""

from agent_policies.pack import DEFAULT_ENFORCEMENT, DESCRIPTION, PACK_NAME, all_policies
from pulumi_policy import PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=all_policies(),
    enforcement_level=DEFAULT_ENFORCEMENT,
    description=DESCRIPTION,
    provider="aws",
    tags=["aws", "eks", "kubernetes"],
)
