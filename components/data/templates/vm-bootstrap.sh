#!/bin/bash
# Database bootstrap @@{digest}: converges the application database once, then scales its group to 0.
# No secret values below: the instance role reads the two logins into a tmpfs at run time.
DIGEST=@@{digest}
GROUP=@@{group}
@@{body}