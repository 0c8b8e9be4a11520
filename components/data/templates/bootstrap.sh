#!/bin/sh
# Converges the application database as the RDS master user. Passwords are read from files and reach
# psql through PGPASSWORD and a psql variable, never through the command line.
set -eu
umask 077

# json_string KEY FILE: the top-level string KEY of a JSON object, with JSON escapes decoded.
json_string() {
  awk -v key="$1" '
    function hexval(h,    i, d, v) {
      v = 0
      for (i = 1; i <= length(h); i++) {
        d = index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
        if (d < 0) { return -1 }
        v = v * 16 + d
      }
      return v
    }
    { text = text $0 "\n" }
    END {
      pattern = "\"" key "\""
      start = index(text, pattern)
      if (start == 0) { exit 2 }
      rest = substr(text, start + length(pattern))
      if (!match(rest, /^[ \t\r\n]*:[ \t\r\n]*"/)) { exit 3 }
      rest = substr(rest, RLENGTH + 1)
      out = ""
      while (length(rest) > 0) {
        c = substr(rest, 1, 1)
        if (c == "\"") { printf "%s", out; exit 0 }
        if (c == "\\") {
          e = substr(rest, 2, 1)
          rest = substr(rest, 3)
          if (e == "n") { c = "\n" }
          else if (e == "t") { c = "\t" }
          else if (e == "r") { c = "\r" }
          else if (e == "b") { c = "\b" }
          else if (e == "f") { c = "\f" }
          else if (e == "u") {
            v = hexval(substr(rest, 1, 4))
            if (v < 1 || v > 126) { exit 4 }
            c = sprintf("%c", v)
            rest = substr(rest, 5)
          }
          else { c = e }
        } else {
          rest = substr(rest, 2)
        }
        out = out c
      }
      exit 5
    }' "$2"
}

master_user=$(json_string username /creds/master.json)
PGPASSWORD=$(json_string password /creds/master.json)
export PGPASSWORD
app_user=$(json_string username /creds/app.json)
json_string password /creds/app.json > /creds/app-password
if [ "$app_user" != "$APP_USER" ]; then
  echo "the application secret names user '$app_user', expected '$APP_USER'" >&2
  exit 1
fi
if [ "$master_user" = "$APP_USER" ]; then
  echo "refusing to bootstrap: the application role would be the master user" >&2
  exit 1
fi
monitor_user=$(json_string username /creds/monitor.json)
json_string password /creds/monitor.json > /creds/monitor-password
if [ "$monitor_user" != "$MONITOR_USER" ]; then
  echo "the monitoring secret names user '$monitor_user', expected '$MONITOR_USER'" >&2
  exit 1
fi
exec psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username "$master_user" --dbname postgres \
  --set app_user="$APP_USER" --set app_database="$APP_DATABASE" \
  --set connection_limit="$APP_CONNECTION_LIMIT" --set app_password_file=/creds/app-password \
  --set monitor_user="$MONITOR_USER" --set monitor_password_file=/creds/monitor-password \
  --file /scripts/bootstrap.sql
