#!/usr/bin/env bash
# services.sh: the real services Trunkline's tests use (Redis, ClickHouse, sipp, and an SFTP and an
# FTP server for CDR exports), on loopback.
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
#   TRUNKLINE_SFTP_PORT       port of the test sshd (SFTP only; default 2222)
#   TRUNKLINE_FTP_PORT        port of the test vsftpd (default 2121)
#
# The SFTP server is a second OpenSSH sshd with its own config and host key in the state dir (the
# system sshd and its config are not touched); the FTP server is vsftpd. Both take the local user
# trunkline-export (no shell, SFTP only through internal-sftp) with a password generated once and
# kept in the state dir; its home is /var/lib/trunkline-export.
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

SFTP_PORT=${TRUNKLINE_SFTP_PORT:-2222}
FTP_PORT=${TRUNKLINE_FTP_PORT:-2121}
EXPORT_USER=trunkline-export
EXPORT_HOME=/var/lib/trunkline-export
EXPORT_PWFILE=$STATE_DIR/export-user.password
SFTP_DIR=$STATE_DIR/sftp
SFTP_PIDFILE=$SFTP_DIR/sshd.pid
FTP_DIR=$STATE_DIR/ftp
FTP_PIDFILE=$FTP_DIR/vsftpd.pid
FTP_PAM=trunkline-test-ftp

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
	[ -x /usr/sbin/sshd ] || pkgs+=(openssh-server)
	[ -x /usr/lib/openssh/sftp-server ] || pkgs+=(openssh-sftp-server)
	[ -x /usr/sbin/vsftpd ] || pkgs+=(vsftpd)
	command -v promtool >/dev/null 2>&1 || pkgs+=(prometheus) # promtool checks the alert rules
	command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)   # the control panel's browser tests
	command -v pebble >/dev/null 2>&1 || pkgs+=(pebble)       # an ACME server for the admin listener's certificates
	[ ${#pkgs[@]} -eq 0 ] && return 0

	log "installing with apt: ${pkgs[*]}"
	local t0=$SECONDS
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -q >&2 || die "apt-get update failed"
	log "apt-get update took $((SECONDS - t0)) s"
	local t1=$SECONDS
	# openssh-server and vsftpd start system-wide daemons from their postinst; a policy-rc.d that
	# answers 101 (the Docker default) stops that. Add one only for the install when there is none.
	local policy=/usr/sbin/policy-rc.d added_policy=
	if [ ! -e "$policy" ]; then
		as_root sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"
		added_policy=1
	fi
	local rc=0
	as_root apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${pkgs[@]}" </dev/null >&2 || rc=$?
	[ -z "$added_policy" ] || as_root rm -f "$policy"
	[ "$rc" -eq 0 ] || die "apt-get install ${pkgs[*]} failed"
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

# ---------------------------------------------------------------- export user, sftp, ftp

# banner_answers PORT PREFIX: something on 127.0.0.1:PORT greets with a line starting with PREFIX.
banner_answers() {
	local port=$1 prefix=$2 line
	line=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && IFS= read -r -t 2 l <&3 && printf '%s' \"\$l\"" 2>/dev/null) || return 1
	[ "${line#"$prefix"}" != "$line" ]
}
sftp_answers() { banner_answers "$SFTP_PORT" SSH-; }
ftp_answers() { banner_answers "$FTP_PORT" 220; }

# export_user_up creates the test user (no login shell) and sets its password, generated once.
export_user_up() {
	if [ ! -s "$EXPORT_PWFILE" ]; then
		(umask 077 && head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$EXPORT_PWFILE")
	fi
	if ! id "$EXPORT_USER" >/dev/null 2>&1; then
		as_root useradd --system --home-dir "$EXPORT_HOME" --create-home --shell /usr/sbin/nologin "$EXPORT_USER" ||
			die "creating user $EXPORT_USER failed"
	fi
	as_root mkdir -p "$EXPORT_HOME"
	as_root chown "$EXPORT_USER:" "$EXPORT_HOME"
	printf '%s:%s\n' "$EXPORT_USER" "$(cat "$EXPORT_PWFILE")" | as_root chpasswd || die "setting the password of $EXPORT_USER failed"
}

sftp_up() {
	if sftp_answers; then
		log "sftp already answers on 127.0.0.1:$SFTP_PORT, leaving it"
		return 0
	fi
	[ -x /usr/sbin/sshd ] || die "sshd is not installed (package openssh-server)"
	mkdir -p "$SFTP_DIR"
	chmod 700 "$SFTP_DIR"
	[ -s "$SFTP_DIR/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C trunkline-test-sftp -f "$SFTP_DIR/host_ed25519" >&2
	as_root mkdir -p /run/sshd # privilege separation directory sshd insists on
	cat >"$SFTP_DIR/sshd_config" <<CONF
# Test SFTP server of scripts/services.sh; the system sshd does not read this file.
Port $SFTP_PORT
ListenAddress 127.0.0.1
HostKey $SFTP_DIR/host_ed25519
PidFile $SFTP_PIDFILE
AllowUsers $EXPORT_USER
PermitRootLogin no
PasswordAuthentication yes
PubkeyAuthentication yes
AuthorizedKeysFile $SFTP_DIR/authorized_keys
KbdInteractiveAuthentication no
UsePAM no
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
Subsystem sftp internal-sftp
ForceCommand internal-sftp
CONF
	rm -f "$SFTP_PIDFILE"
	as_root /usr/sbin/sshd -f "$SFTP_DIR/sshd_config" -E "$SFTP_DIR/sshd.log" || die "sshd failed to start (log: $SFTP_DIR/sshd.log)"
	wait_for "sftp 127.0.0.1:$SFTP_PORT" sftp_answers "$SFTP_DIR/sshd.log"
}

sftp_down() { stop_pidfile sftp "$SFTP_PIDFILE" sshd; }

ftp_up() {
	if ftp_answers; then
		log "ftp already answers on 127.0.0.1:$FTP_PORT, leaving it"
		return 0
	fi
	[ -x /usr/sbin/vsftpd ] || die "vsftpd is not installed"
	mkdir -p "$FTP_DIR"
	as_root mkdir -p /var/run/vsftpd/empty
	# A PAM service of our own: Debian's /etc/pam.d/vsftpd also demands a login shell (pam_shells).
	if [ ! -f "/etc/pam.d/$FTP_PAM" ]; then
		as_root sh -c "printf 'auth required pam_unix.so\naccount required pam_unix.so\nsession required pam_unix.so\n' >/etc/pam.d/$FTP_PAM"
	fi
	cat >"$FTP_DIR/vsftpd.conf" <<CONF
# Test FTP server of scripts/services.sh.
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$FTP_PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=NO
userlist_enable=YES
userlist_deny=NO
userlist_file=$FTP_DIR/users
pam_service_name=$FTP_PAM
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=30100
pasv_max_port=30199
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
xferlog_enable=YES
vsftpd_log_file=$FTP_DIR/vsftpd.log
CONF
	echo "$EXPORT_USER" >"$FTP_DIR/users"
	rm -f "$FTP_PIDFILE"
	nohup /usr/sbin/vsftpd "$FTP_DIR/vsftpd.conf" >"$FTP_DIR/stderr.log" 2>&1 </dev/null &
	echo $! >"$FTP_PIDFILE"
	wait_for "ftp 127.0.0.1:$FTP_PORT" ftp_answers "$FTP_DIR/stderr.log" "$FTP_DIR/vsftpd.log"
}

ftp_down() { stop_pidfile ftp "$FTP_PIDFILE" vsftpd; }

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
	echo "export TRUNKLINE_TEST_SFTP=127.0.0.1:$SFTP_PORT"
	echo "export TRUNKLINE_TEST_FTP=127.0.0.1:$FTP_PORT"
	echo "export TRUNKLINE_TEST_EXPORT_USER=$EXPORT_USER"
	if [ -s "$EXPORT_PWFILE" ]; then
		echo "export TRUNKLINE_TEST_EXPORT_PASSWORD=$(cat "$EXPORT_PWFILE")"
	fi
}

cmd_up() {
	mkdir -p "$STATE_DIR"
	chmod 755 "$STATE_DIR"
	install_missing
	[ -n "$(sipp_bin)" ] || die "sipp is not installed (package sip-tester)"
	redis_up
	ch_up
	export_user_up
	sftp_up
	ftp_up
	print_env
}

cmd_down() {
	redis_down
	ch_down
	sftp_down
	ftp_down
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
	local name port probe file
	for name in sftp ftp; do
		if [ $name = sftp ]; then port=$SFTP_PORT probe=sftp_answers file=$SFTP_PIDFILE; else port=$FTP_PORT probe=ftp_answers file=$FTP_PIDFILE; fi
		if "$probe"; then
			pid=$( (pid_alive_as "$file" "$([ $name = sftp ] && echo sshd || echo vsftpd)" && tr -dc '0-9' <"$file") || echo "not started by up")
			printf '%-11s 127.0.0.1:%s  answers  (%s)\n' "$name" "$port" "$pid"
		else
			printf '%-11s 127.0.0.1:%s  DOWN\n' "$name" "$port"
			rc=1
		fi
	done
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
