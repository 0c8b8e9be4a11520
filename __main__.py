"""agent-platform: LLM-agent systems on AWS, one stack per environment.

Validate the whole config first (nothing is registered if it is wrong), then compose components.
"""

import pulumi

from components.alerts import AlertTopic, AlertTopicArgs
from components.cluster import Cluster, ClusterArgs
from components.context import Platform
from components.network import Network, NetworkArgs
from components.shared_keys import SharedKeys
from config import load_config

config = load_config()
platform = Platform.from_config(config)

keys = SharedKeys("keys", platform)
alerts = AlertTopic("alerts", AlertTopicArgs(platform=platform, emails=config.observability.alert_emails))
network = Network("network", NetworkArgs(config=config.network, platform=platform, logs_key_arn=keys.logs_key_arn))
cluster = Cluster("cluster", ClusterArgs(
    config=config.cluster,
    platform=platform,
    vpc_id=network.vpc_id,
    private_subnet_ids=network.private_subnet_ids,
    logs_key_arn=keys.logs_key_arn,
))

pulumi.export("environment", config.environment)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("clusterName", cluster.name)
pulumi.export("clusterEndpoint", cluster.endpoint)
