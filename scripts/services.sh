#!/usr/bin/env bash
# services.sh: the real services Trunkline's tests use (Redis, ClickHouse, sipp), on loopback.
#
#   scripts/services.sh up      install what is missing (apt, as root), start what is not answering,
#                               wait until each answers, then print the TRUNKLINE_TEST_* exports on
#                               stdout (progress goes to stderr), so: eval "$(scripts/services.sh up)"
#   scripts/services.sh down    stop only what `up` started, by the PID it recorded
#   scripts/services.sh status  print each service and whether it answers
#   scripts/services.sh env     print the exports without starting anything
#
# No systemd is assumed: the daemons are started directly. Idempotent: a service that already answers
# on its port is left alone (and not recorded, so `down` will not stop it).
#
# Environment:
#   TRUNKLINE_REDIS_PORT      Redis port (default 6379)
#   TRUNKLINE_SERVICES_DIR    state dir for pid files (default ${TMPDIR:-/tmp}/trunkline-services)
#   TRUNKLINE_SERVICES_WAIT   seconds to wait for each service to answer (default 30)
set -euo pipefail

# CI may run with a minimal PATH; the daemons and runuser live in sbin.
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

REDIS_PORT=${TRUNKLINE_REDIS_PORT:-6379}
CH_NATIVE_PORT=9000 # fixed by the packaged config.xml
CH_HTTP_PORT=8123   # fixed by the packaged config.xml
STATE_DIR=${TRUNKLINE_SERVICES_DIR:-${TMPDIR:-/tmp}/trunkline-services}
WAIT_SECONDS=${TRUNKLINE_SERVICES_WAIT:-30}

CH_CONFIG=/etc/clickhouse-server/config.xml
CH_DATA=/var/lib/clickhouse
CH_LOGDIR=/var/log/clickhouse-server
CH_USER=clickhouse

REDIS_PIDFILE=$STATE_DIR/redis-$REDIS_PORT.pid
REDIS_LOG=$STATE_DIR/redis-$REDIS_PORT.log

log() { printf 'services: %s\n' "$*" >&2; }
die() {
	printf 'services: error: %s\n' "$*" >&2
	exit 1
}

# as_root runs a command as root: directly when we are root, through sudo -n otherwise.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		die "need root to run: $* (run as root, or install the packages yourself)"
	fi
}

# ---------------------------------------------------------------- install

sipp_bin() { command -v sipp || true; }
ch_server_bin() { command -v clickhouse-server || true; }

install_missing() {
	local pkgs=()
	command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
	command -v redis-cli >/dev/null 2>&1 || pkgs+=(redis-tools)
	[ -n "$(ch_server_bin)" ] || pkgs+=(clickhouse-server)
	command -v clickhouse-client >/dev/null 2>&1 || pkgs+=(clickhouse-client)
	[ -n "$(sipp_bin)" ] || pkgs+=(sip-tester)
	[ ${#pkgs[@]} -eq 0 ] && return 0

	log "installing with apt: ${pkgs[*]}"
	local t0=$SECONDS
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -q >&2 || die "apt-get update failed"
	log "apt-get update took $((SECONDS - t0)) s"
	local t1=$SECONDS
	as_root apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${pkgs[@]}" </dev/null >&2 || die "apt-get install ${pkgs[*]} failed"
	log "apt-get install took $((SECONDS - t1)) s"
}

# ---------------------------------------------------------------- probes

redis_answers() {
	[ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

ch_answers() {
	local body
	body=$(curl -fsS --max-time 2 "http://127.0.0.1:$CH_HTTP_PORT/ping" 2>/dev/null) || return 1
	[ "${body%%$'\n'*}" = "Ok." ] || return 1
	# The native port is the one the Go client uses (HTTP does not work with clickhouse-go on 18.16).
	[ "$(timeout 5 clickhouse-client --host 127.0.0.1 --port "$CH_NATIVE_PORT" --query 'SELECT 1' 2>/dev/null)" = 1 ]
}

# pid_alive_as FILE NAME: the PID in FILE is alive and its command line mentions NAME
# (guards against a recycled PID).
pid_alive_as() {
	local f=$1 name=$2 pid
	[ -s "$f" ] || return 1
	pid=$(tr -dc '0-9' <"$f")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"
}

# wait_for NAME PROBE LOGFILE...: poll PROBE until it succeeds or WAIT_SECONDS pass.
wait_for() {
	local name=$1 probe=$2 t0=$SECONDS
	shift 2
	while ! "$probe"; do
		if [ $((SECONDS - t0)) -ge "$WAIT_SECONDS" ]; then
			printf 'services: error: %s did not answer within %s s\n' "$name" "$WAIT_SECONDS" >&2
			local f
			for f in "$@"; do
				[ -f "$f" ] || continue
				printf -- '--- tail of %s\n' "$f" >&2
				tail -n 20 "$f" >&2 || true
			done
			exit 1
		fi
		sleep 0.2
	done
	log "$name answers (after $((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------- redis

redis_up() {
	if redis_answers; then
		log "redis already answers on 127.0.0.1:$REDIS_PORT, leaving it"
		return 0
	fi
	command -v redis-server >/dev/null 2>&1 || die "redis-server is not installed"
	rm -f "$REDIS_PIDFILE"
	redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
		--save '' --appendonly no --protected-mode yes \
		--pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" --dir "$STATE_DIR" >&2 ||
		die "redis-server failed to start (log: $REDIS_LOG)"
	wait_for "redis 127.0.0.1:$REDIS_PORT" redis_answers "$REDIS_LOG"
}

redis_down() {
	stop_pidfile redis "$REDIS_PIDFILE" redis-server
}

# ---------------------------------------------------------------- clickhouse

# ch_piddir prints a directory for ClickHouse's pid file that the clickhouse user can write.
ch_piddir() {
	local d=$STATE_DIR/clickhouse
	mkdir -p "$d"
	chown "$CH_USER:" "$d" 2>/dev/null || true
	if runuser -u "$CH_USER" -- test -w "$d" 2>/dev/null; then
		echo "$d"
		return
	fi
	# STATE_DIR may sit under a directory the clickhouse user cannot enter (a private TMPDIR).
	d=/run/clickhouse-server
	mkdir -p "$d" && chown "$CH_USER:" "$d"
	echo "$d"
}

ch_pidfile() {
	# Where `up` recorded the pid file it handed to ClickHouse.
	if [ -s "$STATE_DIR/clickhouse.pidfile" ]; then
		cat "$STATE_DIR/clickhouse.pidfile"
	fi
}

ch_up() {
	if ch_answers; then
		log "clickhouse already answers on 127.0.0.1:$CH_NATIVE_PORT/$CH_HTTP_PORT, leaving it"
		return 0
	fi
	local bin
	bin=$(ch_server_bin)
	[ -n "$bin" ] || die "clickhouse-server is not installed"
	id "$CH_USER" >/dev/null 2>&1 || die "user $CH_USER does not exist (clickhouse-server package incomplete?)"
	[ -f "$CH_CONFIG" ] || die "$CH_CONFIG is missing"

	# Without its data and log directories (owned by its user) ClickHouse exits at once, leaving
	# only a line in stderr.log.
	local d
	for d in "$CH_DATA" "$CH_LOGDIR"; do
		mkdir -p "$d"
		[ "$(stat -c %U "$d")" = "$CH_USER" ] || chown -R "$CH_USER:" "$d"
	done

	local piddir pidfile
	piddir=$(ch_piddir)
	pidfile=$piddir/clickhouse-server.pid
	rm -f "$pidfile"
	echo "$pidfile" >"$STATE_DIR/clickhouse.pidfile"
	(cd "$CH_DATA" && runuser -u "$CH_USER" -- "$bin" --config-file="$CH_CONFIG" --daemon --pid-file="$pidfile") >&2 ||
		die "clickhouse-server failed to start; see $CH_LOGDIR/clickhouse-server.err.log and $CH_LOGDIR/stderr.log"
	wait_for "clickhouse 127.0.0.1:$CH_NATIVE_PORT (http $CH_HTTP_PORT)" ch_answers \
		"$CH_LOGDIR/stderr.log" "$CH_LOGDIR/clickhouse-server.err.log"
	ch_check_loopback "$(tr -dc '0-9' <"$pidfile")"
}

# ch_check_loopback PID: the packaged config.xml listens on ::1 and 127.0.0.1 only; refuse to leave
# a ClickHouse listening anywhere else (a changed default or a local override in config.d).
ch_check_loopback() {
	local pid=$1 exposed
	command -v ss >/dev/null 2>&1 || return 0
	exposed=$(ss -Hltnp 2>/dev/null | grep "pid=$pid," | awk '{print $4}' |
		grep -vE '^(127\.[0-9.]+|\[::1\]):[0-9]+$' || true)
	if [ -n "$exposed" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		die "clickhouse listened beyond loopback ($(echo "$exposed" | tr '\n' ' ')); stopped it. Check listen_host in $CH_CONFIG and /etc/clickhouse-server/config.d/"
	fi
}

ch_down() {
	local pidfile
	pidfile=$(ch_pidfile)
	if [ -z "$pidfile" ]; then
		log "clickhouse: not started by up, leaving it"
		return 0
	fi
	stop_pidfile clickhouse "$pidfile" clickhouse
	rm -f "$STATE_DIR/clickhouse.pidfile"
}

# ---------------------------------------------------------------- stop

# stop_pidfile NAME FILE CMDNAME: TERM the recorded PID, wait up to 30 s, then KILL.
stop_pidfile() {
	local name=$1 f=$2 cmd=$3 pid i
	if ! pid_alive_as "$f" "$cmd"; then
		log "$name: not started by up (or already stopped), leaving it"
		rm -f "$f"
		return 0
	fi
	pid=$(tr -dc '0-9' <"$f")
	log "$name: stopping pid $pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name: pid $pid ignored TERM for 30 s, sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

# ---------------------------------------------------------------- commands

print_env() {
	local sipp
	sipp=$(sipp_bin)
	echo "export TRUNKLINE_TEST_REDIS=127.0.0.1:$REDIS_PORT"
	echo "export TRUNKLINE_TEST_CLICKHOUSE=127.0.0.1:$CH_NATIVE_PORT"
	echo "export TRUNKLINE_TEST_SIPP=${sipp:-/usr/bin/sipp}"
}

cmd_up() {
	mkdir -p "$STATE_DIR"
	chmod 755 "$STATE_DIR"
	install_missing
	[ -n "$(sipp_bin)" ] || die "sipp is not installed (package sip-tester)"
	redis_up
	ch_up
	print_env
}

cmd_down() {
	redis_down
	ch_down
}

cmd_status() {
	local rc=0 pid
	if redis_answers; then
		pid=$( (pid_alive_as "$REDIS_PIDFILE" redis-server && tr -dc '0-9' <"$REDIS_PIDFILE") || echo "not started by up")
		printf 'redis       127.0.0.1:%s  answers  (%s, %s)\n' "$REDIS_PORT" "$pid" \
			"$(redis-server --version 2>/dev/null | grep -o 'v=[0-9.]*' || echo '?')"
	else
		printf 'redis       127.0.0.1:%s  DOWN\n' "$REDIS_PORT"
		rc=1
	fi
	if ch_answers; then
		local f
		f=$(ch_pidfile)
		pid=$( ([ -n "$f" ] && pid_alive_as "$f" clickhouse && tr -dc '0-9' <"$f") || echo "not started by up")
		printf 'clickhouse  127.0.0.1:%s (http %s)  answers  (%s, v=%s)\n' "$CH_NATIVE_PORT" "$CH_HTTP_PORT" "$pid" \
			"$(curl -fsS --max-time 2 "http://127.0.0.1:$CH_HTTP_PORT/?query=SELECT%20version()" 2>/dev/null || echo '?')"
	else
		printf 'clickhouse  127.0.0.1:%s (http %s)  DOWN\n' "$CH_NATIVE_PORT" "$CH_HTTP_PORT"
		rc=1
	fi
	local sipp
	sipp=$(sipp_bin)
	if [ -n "$sipp" ]; then
		printf 'sipp        %s  installed  (%s)\n' "$sipp" \
			"$("$sipp" -v 2>/dev/null | grep -o 'v[0-9][0-9.]*[^ ]*' | head -n 1 || true)"
	else
		printf 'sipp        not installed\n'
		rc=1
	fi
	return "$rc"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) print_env ;;
*)
	echo "usage: $0 up|down|status|env" >&2
	exit 2
	;;
esac
