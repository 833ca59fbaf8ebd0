#!/usr/bin/env bash
# bench/run.sh: calls per second through the whole switch, side by side with
# Kamailio (bench/README.md, "Calls per second"). `make bench` runs it after
# the Go benchmarks. Needs root (apt installs, net.core.rmem_* for the 4 MB
# UDP buffers) and 2 CPUs: the switch is pinned to CPU 0, the sipps to CPU 1.
# Arguments are passed to bench/cmd/sipbench (see `go run ./bench/cmd/sipbench -h`),
# e.g. bench/run.sh -systems trunkline -ladder 1000,2000.
# Default rows: trunkline, kamailio-relay, kamailio-dialog, kamailio-full
# (Kamailio's full pipeline with topology hiding, topoh); add
# kamailio-full-notopoh to -systems for the full row without it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v kamailio >/dev/null || need+=(kamailio)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v taskset >/dev/null || need+=(util-linux)
command -v ss >/dev/null || need+=(iproute2)
if ((${#need[@]})); then
	echo "bench/run.sh: installing ${need[*]}" >&2
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

make build >/dev/null
CGO_ENABLED=0 go build -o bin/sipbench ./bench/cmd/sipbench
CGO_ENABLED=0 go build -o bin/sipload ./bench/cmd/sipload # for -generator go
mkdir -p bench/results
# Ladder: 500 calls/s steps to 4,000, then 1,000 steps to the load
# generator's ceiling (about 7,000 on this machine).
bin/sipbench -ladder 1000,1500,2000,2500,3000,3500,4000,5000,6000,7000 \
	-out bench/results/latest.json "$@" | tee bench/results/latest.md
