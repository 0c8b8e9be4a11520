#!/bin/sh
# Converges the document store's application user as the DocumentDB master user (docdb-bootstrap.js). The logins
# are files in /creds; mongosh starts without a connection (--nodb) and the script connects over TLS, verified
# against the RDS CA bundle, so no password ever reaches a command line.
set -eu
umask 077
exec mongosh --nodb --norc --quiet --file /scripts/docdb-bootstrap.js
