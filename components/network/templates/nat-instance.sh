#!/bin/bash
# NAT instance boot (egress: natInstance): the fck-nat pattern on stock AL2023, rendered by
# components/network/nat_instance.py. The private route tables send 0.0.0.0/0 to the fixed interface
# @@{eni_id} (source/destination check off, set by Pulumi); this instance attaches it as its second
# interface and translates what arrives on it out of its own public interface.
#
# No `set -e`: a script that stops half-way leaves an instance that passes its EC2 status checks and
# silently drops traffic. Each step that must work powers the instance off instead, so the Auto Scaling
# group (health check EC2) replaces it; forwarding is switched on only after translation is verified.
exec > >(tee -a /var/log/nat-instance.log) 2>&1
fail() { echo "nat-instance: $*; powering off so the Auto Scaling group replaces this instance"; poweroff; exit 1; }

REGION=@@{region}
ENI_ID=@@{eni_id}
VPC_CIDR=@@{vpc_cidr}

imds() {
  local token
  token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
  curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# 0.5 GiB instances (t4g.nano) are OOM-killed by dnf resolving AL2023's repositories: swap first.
if ! swapon --show=NAME --noheadings | grep -q /swapfile; then
  dd if=/dev/zero of=/swapfile bs=1M count=1024 && chmod 600 /swapfile && mkswap /swapfile && swapon /swapfile \
    || fail "cannot enable swap"
fi
# AL2023 ships neither iptables nor a service that restores its rules at boot.
dnf install -y iptables-services || fail "cannot install iptables-services"

INSTANCE_ID=$(imds instance-id) || fail "cannot read the instance ID"
MAC=$(imds mac) || fail "cannot read the primary MAC address"
OWN_ENI=$(imds "network/interfaces/macs/$MAC/interface-id") || fail "cannot read the primary interface ID"
# Interfaces from iproute2 (net-tools' `route` is not part of AL2023).
PUBLIC_IF=$(ip -o -4 route show to default | awk '{print $5; exit}')
[ -n "$PUBLIC_IF" ] || fail "no default route"

# Replies to the private subnets leave through the primary interface with their original source address.
aws ec2 modify-network-interface-attribute --region "$REGION" --network-interface-id "$OWN_ENI" \
  --no-source-dest-check || fail "cannot turn off the source/destination check of $OWN_ENI"

# The fixed interface is still attached to the instance this one replaces until that one terminates.
if ! ip link show dev "$ENI_ID" >/dev/null 2>&1; then
  for _ in $(seq 1 60); do
    aws ec2 attach-network-interface --region "$REGION" --instance-id "$INSTANCE_ID" --device-index 1 \
      --network-interface-id "$ENI_ID" && break
    sleep 10
  done
  for _ in $(seq 1 60); do ip link show dev "$ENI_ID" >/dev/null 2>&1 && break; sleep 2; done
fi
ip link show dev "$ENI_ID" >/dev/null 2>&1 || fail "interface $ENI_ID did not attach"

# Packets arrive on one interface and leave by another: strict reverse-path filtering would drop them.
for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > "$f"; done
cat > /etc/sysctl.d/90-nat-instance-rp-filter.conf <<'CONF'
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.default.rp_filter = 0
CONF

iptables -t nat -F POSTROUTING
iptables -t nat -A POSTROUTING -s "$VPC_CIDR" -o "$PUBLIC_IF" -j MASQUERADE
# iptables-services' default ruleset rejects forwarded packets: forward only what the VPC sends and its replies.
iptables -F FORWARD
iptables -A FORWARD -s "$VPC_CIDR" -j ACCEPT
iptables -A FORWARD -d "$VPC_CIDR" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -P FORWARD DROP
# Saved to the file the service restores at every boot, then checked after the service has loaded it: a ruleset
# that did not survive (iptables-services' default file rejects forwarded packets) powers the instance off.
iptables-save > /etc/sysconfig/iptables || fail "cannot save the ruleset"
systemctl enable --now iptables || fail "cannot enable iptables at boot"
iptables -t nat -C POSTROUTING -s "$VPC_CIDR" -o "$PUBLIC_IF" -j MASQUERADE || fail "the translation rule is missing"
iptables -C FORWARD -s "$VPC_CIDR" -j ACCEPT || fail "the forwarding rule is missing"

# Last, and persistent: a reboot restores the saved rules before forwarding resumes.
echo "net.ipv4.ip_forward = 1" > /etc/sysctl.d/90-nat-instance-forwarding.conf
sysctl -q -w net.ipv4.ip_forward=1 || fail "cannot enable forwarding"
echo "nat-instance: forwarding $VPC_CIDR through $PUBLIC_IF (arriving on $ENI_ID)"
