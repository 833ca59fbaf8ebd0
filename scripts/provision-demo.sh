#!/usr/bin/env bash
# Provision a running switch for a first call on one machine:
#   carrier  = a sipp UAS on 127.0.0.1:5070, buying 44… at 0.0050/min
#   customer = calls from 127.0.0.1, selling 44… at 0.0200/min
# Usage: scripts/provision-demo.sh TOKEN [API]   (API defaults to http://127.0.0.1:8080/api/v1)
set -euo pipefail
TOKEN=${1:?usage: $0 ADMIN_TOKEN [API_URL]}
API=${2:-http://127.0.0.1:8080/api/v1}

call() { # METHOD PATH JSON -> response body; fails loudly on an HTTP error
	local out code
	out=$(curl -sS -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' "$API$2" -d "$3")
	code=${out##*$'\n'}
	out=${out%$'\n'*}
	if [ "$code" -ge 300 ]; then
		echo "$1 $2 -> HTTP $code: $out" >&2
		exit 1
	fi
	printf '%s' "$out"
}
id() { sed -E 's/.*"id":"([^"]+)".*/\1/'; }

carrier=$(call POST /carriers '{"name":"Local sipp carrier","currency":"USD"}' | id)
call POST "/carriers/$carrier/endpoints" '{"host":"127.0.0.1","port":5070,"transport":"udp"}' >/dev/null
buy=$(call POST /ratecards "{\"name\":\"Carrier buy\",\"kind\":\"provider\",\"carrier_id\":\"$carrier\",\"currency\":\"USD\"}" | id)
call PUT "/ratecards/$buy/rates" '[{"prefix":"44","description":"United Kingdom","rate":"0.0050"}]' >/dev/null
sell=$(call POST /ratecards "{\"name\":\"Retail\",\"kind\":\"customer\",\"provider_cards\":[\"$buy\"],\"currency\":\"USD\"}" | id)
call PUT "/ratecards/$sell/rates" '[{"prefix":"44","description":"United Kingdom","rate":"0.0200"}]' >/dev/null
customer=$(call POST /customers '{"name":"Acme","currency":"USD"}' | id)
call POST "/customers/$customer/ips" '{"cidr":"127.0.0.1"}' >/dev/null
call POST "/customers/$customer/routes" "{\"prefix\":\"\",\"card_id\":\"$sell\"}" >/dev/null
echo "customer $customer, carrier $carrier, sell card $sell, buy card $buy"
