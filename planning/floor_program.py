"""The mock-engine floor: the least a plan of N resources can cost.

Run by ``planning.bench`` through the same engine (``run_program``) and mocks as the real program, it registers
``PLANNING_FLOOR_RESOURCES`` plain S3 buckets with no inputs, no components and no other provider. A stack's
plan + review + cost is measured against this floor for the same resource count, which makes the ratio a
property of the code, not of the machine.
"""

import os

import pulumi_aws as aws

for i in range(int(os.environ.get("PLANNING_FLOOR_RESOURCES", "1"))):
    aws.s3.Bucket(f"floor-{i}")
