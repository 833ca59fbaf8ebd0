#!/usr/bin/env bash
# Provision a running switch for a first call, with the quickstart API:
#   carrier  = the SIP endpoint CARRIER (default a sipp UAS on 127.0.0.1:5070), buying 44… at 0.0050/min
#                                         and 1… at 0.0040/min
#   customer = calls from CUSTOMER_IP (default 127.0.0.1), sold at the carrier's rates plus 50 %
# Usage: scripts/provision-demo.sh TOKEN [API_URL] [CARRIER_HOST:PORT] [CUSTOMER_IP]
#   API_URL defaults to http://127.0.0.1:8080/api/v1. Running it again with the same
#   arguments makes nothing more (the request key is derived from them).
set -euo pipefail
usage() { echo "usage: $0 ADMIN_TOKEN [API_URL] [CARRIER_HOST:PORT] [CUSTOMER_IP]" >&2; exit 2; }
TOKEN=${1:-}
[ -n "$TOKEN" ] || usage
API=${2:-http://127.0.0.1:8080/api/v1}
CARRIER=${3:-127.0.0.1:5070}
CUSTOMER_IP=${4:-127.0.0.1}
HOST=${CARRIER%:*}
PORT=${CARRIER##*:}
case $PORT in '' | *[!0-9]*) echo "CARRIER must be host:port, got $CARRIER" >&2; exit 2 ;; esac

body=$(cat <<EOF
{"currency":"USD",
 "carrier":{"name":"Demo carrier","host":"$HOST","port":$PORT,"transport":"udp"},
 "rates":[{"prefix":"44","description":"United Kingdom","rate":"0.0050"},
          {"prefix":"1","description":"North America","rate":"0.0040"}],
 "markup":{"kind":"percent","value":"50"},
 "customer":{"name":"Demo customer","ip":"$CUSTOMER_IP"}}
EOF
)
out=$(curl -sS -w '\n%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -H "Idempotency-Key: demo-$HOST-$PORT-$CUSTOMER_IP" \
	"$API/quickstart" -d "$body")
code=${out##*$'\n'}
out=${out%$'\n'*}
if [ "$code" -ge 300 ]; then
	echo "POST $API/quickstart -> HTTP $code: $out" >&2
	exit 1
fi
echo "$out"
