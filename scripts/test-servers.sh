#!/usr/bin/env bash
# Real FTP/FTPS/HTTP(S)/proxy servers on 127.0.0.1 for vmodem's integration tests.
#
# Usage: scripts/test-servers.sh [install|start|stop|status|smoke]   (default: start)
#
# Run as root on Debian 12 (vsftpd and pure-ftpd need root; apt is used to install).
# Everything lives under ${VMODEM_SERVERS:-/tmp/vmodem-servers} ("$BASE"):
#
#   servers.env       KEY=VALUE lines written by `start` (removed by `stop`); tests read it
#   certs/ca.pem      test CA (EC P-256); certs/server.{pem,key} for localhost, 127.0.0.1 and
#                     the application notes' server 112.74.93.163 (transcripts redirect it to loopback)
#   vsftpd/root       FTP root ("/") of vsftpd     2121 plain+explicit, 2990 implicit
#   proftpd/root      FTP root ("/") of proftpd    2123 explicit (TLS optional), 2991 implicit
#   pure/root         FTP root ("/") of pure-ftpd  2122 plain+explicit (TLS optional)
#   nginx/html        document root of nginx       8080 HTTP, 8443 HTTPS
#                     tinyproxy                    3128 (CONNECT allowed to 8443 and 443)
#                     chronyd                      11123/udp NTP (its local clock, stratum 8)
#   logs/             one NAME.out per server plus the servers' own logs
#   pids/             NAME.pid files ("pid exe") of what `start` started
#
# Passive port ranges: vsftpd 31000-32999 (explicit: a thousand modems at once) / 30100-30199 (implicit),
# pure-ftpd 30200-30299, proftpd 30300-30399 (explicit) / 30400-30499 (implicit).
#
# One FTP user on every FTP server: $FTP_USER / $FTP_PASS (default ftptest / Secr3t!).
# It is a system user (vsftpd needs PAM), and proftpd's and pure-ftpd's virtual users carry
# the same uid/gid, so every FTP session on every server runs as that uid (FTP_UID/FTP_GID in
# servers.env). Each server chroots the user to its root, so "/" over FTP is the root dir.
#
# Permissions contract for tests (which run as root):
#   * `start` recreates each FTP root empty except for hello.txt, mode 0777 (no sticky bit);
#     every parent directory is 0755.
#   * Fixture files written as root with mode 0644 are readable over FTP; because the
#     directory is 0777, the FTP user may also rename and delete them.
#   * Subdirectories that tests create must be made 0777 too (or chowned to FTP_UID:FTP_GID),
#     so that the FTP user can create, rename and delete entries inside them.
#   * Files and directories uploaded/created over FTP are owned by FTP_UID (umask 022), so
#     tests (root) can read and remove them.
#   * nginx workers run as nobody: files under nginx/html must be world-readable (0644);
#     PUT uploads go to nginx/html/upload/ (owned by nobody).
#
# Quirks seen on Debian 12 (all verified with `smoke`):
#   * proftpd's master sleeps 0.2-0.4 s after each session ends (EINTR retry in
#     pr_signals_handle; a compile-time tunable), so a connection made right after a previous
#     session closed can wait up to ~0.4 s for its 220 greeting. Allow >= 2 s for greetings.
#   * With TLS 1.3, ~40% of curl's FTPS uploads (8/20) to vsftpd (require_ssl_reuse=YES) end in
#     "426 Failure reading network stream"; TLS 1.2 is reliable (smoke pins uploads to 1.2).
#     vmodem's client showed the cause, on the client side: vsftpd sends TLS 1.3 session
#     tickets on the upload's data connection; a client that closes it without reading them
#     makes the kernel reset the connection, which destroys the upload's tail at the server
#     (27 of 30 of vmodem's uploads failed so until it read them; see tests/it/ftps.rs). curl
#     very likely closes the same way.
#   * curl 7.88.1 (Debian 12) cannot do active-mode FTPS (curl/curl#10666); the servers can
#     (smoke checks it with python3's ftplib when python3 is installed).
#   * pure-ftpd logs only to syslog (nothing is recorded without a syslog daemon). Its
#     user is written with a SHA-512 crypt hash: pure-pw's argon2id hash costs ~2.3 s/login.
set -euo pipefail

BASE=${VMODEM_SERVERS:-/tmp/vmodem-servers}
FTP_USER=${FTP_USER:-ftptest}
FTP_PASS=${FTP_PASS:-Secr3t!}
# A user name vsftpd refuses at USER (530 before any PASS), from its user list.
FTP_DENIED_USER=denied
DEB=$BASE/debroot            # pure-ftpd + proftpd are unpacked here (they conflict with vsftpd in apt)
PIDS=$BASE/pids
LOGS=$BASE/logs
CERTS=$BASE/certs
# The server address of the vendor documents' examples, which transcripts redirect to loopback.
SAMPLE_HOST=112.74.93.163
ENV_FILE=$BASE/servers.env

VSFTPD_PORT=2121
VSFTPD_IMPLICIT_PORT=2990
PUREFTPD_PORT=2122
PROFTPD_PORT=2123
PROFTPD_IMPLICIT_PORT=2991
NGINX_HTTP_PORT=8080
NGINX_HTTPS_PORT=8443
TINYPROXY_PORT=3128
NTP_PORT=11123

VSFTPD_ROOT=$BASE/vsftpd/root
PROFTPD_ROOT=$BASE/proftpd/root
PUREFTPD_ROOT=$BASE/pure/root
NGINX_ROOT=$BASE/nginx/html

# name:port pairs, in start order; `start` waits for all of them, `status` reports them.
SERVERS=(
  "vsftpd-explicit:$VSFTPD_PORT"
  "vsftpd-implicit:$VSFTPD_IMPLICIT_PORT"
  "pure-ftpd:$PUREFTPD_PORT"
  "proftpd-explicit:$PROFTPD_PORT"
  "proftpd-implicit:$PROFTPD_IMPLICIT_PORT"
  "nginx:$NGINX_HTTP_PORT"
  "nginx:$NGINX_HTTPS_PORT"
  "tinyproxy:$TINYPROXY_PORT"
)

APT_PACKAGES=(
  vsftpd nginx-light libnginx-mod-http-echo tinyproxy curl openssl ca-certificates passwd
  gammu  # an SMS client over a vmodem PTY
  chrony # an NTP server for AT+CNTP
  chromium chromium-driver # the web console's browser tests (headless, through WebDriver)
  # runtime libraries of the unpacked pure-ftpd / proftpd-core / proftpd-mod-crypto
  libsodium23 libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libpcre2-8-0
  libcap2 libacl1 libidn2-0 libncursesw6 libcrypt1 libpam0g libssl3 zlib1g
)
DEB_PACKAGES=(pure-ftpd pure-ftpd-common proftpd-core proftpd-mod-crypto)
UNPACKED_BINARIES=(usr/sbin/pure-ftpd usr/bin/pure-pw usr/sbin/proftpd usr/lib/proftpd/mod_tls.so)

log() { printf '[test-servers] %s\n' "$*" >&2; }
die() { printf '[test-servers] ERROR: %s\n' "$*" >&2; exit 1; }

sanity() {
  [ "$(id -u)" = 0 ] || die "must run as root (vsftpd and pure-ftpd need it)"
  case $BASE in
    /*) ;;
    *) die "VMODEM_SERVERS must be an absolute path (got '$BASE')" ;;
  esac
  [ "$BASE" != / ] || die "VMODEM_SERVERS must not be /"
  if [[ $BASE =~ [[:space:]] || $FTP_USER =~ [[:space:]:] || $FTP_PASS =~ [[:space:]:] ]]; then
    die "VMODEM_SERVERS, FTP_USER and FTP_PASS must not contain whitespace (nor ':' for user/password)"
  fi
  if [ -z "$FTP_USER" ] || [ -z "$FTP_PASS" ]; then die "FTP_USER and FTP_PASS must not be empty"; fi
}

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------
apt_missing() { # prints the packages of "$@" that are not installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

unpacked_ok() {
  local b
  for b in "${UNPACKED_BINARIES[@]}"; do [ -e "$DEB/$b" ] || return 1; done
}

install() {
  sanity
  export DEBIAN_FRONTEND=noninteractive
  local missing updated=0
  mkdir -p "$BASE"
  chmod 0755 "$BASE"
  mapfile -t missing < <(apt_missing "${APT_PACKAGES[@]}")
  if [ "${#missing[@]}" -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    updated=1
    # vsftpd, pure-ftpd and proftpd-core all "Conflicts: ftp-server": only vsftpd is apt-installed.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! unpacked_ok; then
    log "unpacking ${DEB_PACKAGES[*]} into $DEB"
    rm -rf "$BASE/debs" "$DEB"
    mkdir -p "$BASE/debs" "$DEB"
    if ! (cd "$BASE/debs" && apt-get download -qq -o APT::Sandbox::User=root "${DEB_PACKAGES[@]}" >/dev/null 2>&1); then
      [ "$updated" = 1 ] || apt-get update -qq
      (cd "$BASE/debs" && apt-get download -qq -o APT::Sandbox::User=root "${DEB_PACKAGES[@]}" >/dev/null) \
        || die "apt-get download ${DEB_PACKAGES[*]} failed"
    fi
    local d
    for d in "$BASE"/debs/*.deb; do dpkg-deb -x "$d" "$DEB"; done
    unpacked_ok || die "unpacked packages lack one of: ${UNPACKED_BINARIES[*]}"
    local missing_libs
    missing_libs=$(ldd "$DEB/usr/sbin/pure-ftpd" "$DEB/usr/sbin/proftpd" \
      "$DEB/usr/lib/proftpd/mod_tls.so" 2>&1 | grep 'not found' || true)
    [ -z "$missing_libs" ] || die "unpacked servers miss libraries:"$'\n'"$missing_libs"
  fi
  local tool
  for tool in vsftpd nginx tinyproxy chronyd chromium chromedriver curl openssl useradd chpasswd setsid flock; do
    command -v "$tool" >/dev/null || die "$tool not found after install"
  done
  [ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || die "nginx echo module missing"
  log "install: ok"
}

# ---------------------------------------------------------------------------------------------
# helpers for start/stop
# ---------------------------------------------------------------------------------------------
lock() { # serialise concurrent start/stop runs; fd 9 is closed in every server we start
  mkdir -p "$BASE"
  exec 9>"$BASE/.lock"
  flock -w 120 9 || die "another test-servers.sh holds $BASE/.lock"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

bg() { # bg NAME CMD... : start CMD in its own session (pgid = pid), remember "pid exe"
  local name=$1 pid exe
  shift
  setsid "$@" >"$LOGS/$name.out" 2>&1 </dev/null 9>&- &
  pid=$!
  exe=$(readlink -f "$(command -v "$1")")
  echo "$pid $exe" >"$PIDS/$name.pid"
}

pid_alive() { # pid_alive PID : process exists and is not a zombie (it may not have exec'd yet)
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

pid_is_ours() { # pid_is_ours PID EXE : PID is alive and runs EXE (guards against pid reuse)
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [ "$exe" = "$2" ]
}

log_tail() { # log_tail NAME : print the last lines of every log of that server
  local f
  for f in "$LOGS/$1"*; do
    [ -s "$f" ] || continue
    printf -- '----- %s (last 20 lines) -----\n' "$f" >&2
    tail -n 20 "$f" >&2
  done
  if [ "$1" = pure-ftpd ]; then
    echo "(pure-ftpd logs only to syslog; nothing may be recorded without a syslog daemon)" >&2
  fi
}

descendants() { # descendants PID... : every live descendant of the given pids (from /proc)
  local -A kids=()
  local stat line rest ppid pid
  for stat in /proc/[0-9]*/stat; do
    { line=$(<"$stat"); } 2>/dev/null || continue
    pid=${line%% *}
    rest=${line##*) }      # after "pid (comm) ": "STATE PPID ..."
    read -r _ ppid _ <<<"$rest"
    kids[$ppid]+=" $pid"
  done
  local queue=("$@") next parent
  while [ "${#queue[@]}" -gt 0 ]; do
    next=()
    for parent in "${queue[@]}"; do
      for pid in ${kids[$parent]:-}; do
        echo "$pid"
        next+=("$pid")
      done
    done
    queue=("${next[@]+"${next[@]}"}")
  done
}

stop_servers() {
  local f pid exe masters=() victims=() i p
  for f in "$PIDS"/*.pid; do
    [ -f "$f" ] || continue
    read -r pid exe <"$f" || true
    if [ -n "${pid:-}" ] && pid_is_ours "$pid" "$exe"; then masters+=("$pid"); fi
    rm -f "$f"
  done
  [ "${#masters[@]}" -gt 0 ] || return 0
  # The servers' session processes (vsftpd's call setsid) and workers go too.
  mapfile -t victims < <(descendants "${masters[@]}")
  victims=("${masters[@]}" "${victims[@]+"${victims[@]}"}")
  for p in "${masters[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  for p in "${victims[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 100 && ${#victims[@]} > 0; i++)); do
    local left=()
    for p in "${victims[@]}"; do pid_alive "$p" && left+=("$p"); done
    victims=("${left[@]+"${left[@]}"}")
    [ "${#victims[@]}" -eq 0 ] || sleep 0.1
  done
  if [ "${#victims[@]}" -gt 0 ]; then
    log "pid(s) ${victims[*]} did not exit on SIGTERM within 10 s; sending SIGKILL"
    for p in "${victims[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  fi
  # proftpd keeps its own pid file; nginx too. Remove stale ones so nothing trips over them.
  rm -f "$BASE"/proftpd/*.pid "$BASE"/proftpd/*.scoreboard* "$BASE"/proftpd/*.delay "$BASE"/nginx/nginx.pid
}

certs() {
  local c=$CERTS
  mkdir -p "$c"
  if [ -f "$c/ca.pem" ] && [ -f "$c/server.pem" ] && [ -f "$c/server.key" ] \
    && openssl x509 -in "$c/server.pem" -noout -checkend 86400 >/dev/null 2>&1 \
    && openssl verify -CAfile "$c/ca.pem" "$c/server.pem" >/dev/null 2>&1 \
    && openssl x509 -in "$c/server.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "$SAMPLE_HOST"; then
    return 0
  fi
  log "creating test CA and server certificate in $c"
  rm -f "$c"/*
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$c/ca.key" \
    -out "$c/ca.pem" -days 3650 -subj "/CN=vmodem Test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$c/server.key" -out "$c/server.csr" \
    -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
    "$SAMPLE_HOST" >"$c/ext.cnf"
  openssl x509 -req -in "$c/server.csr" -CA "$c/ca.pem" -CAkey "$c/ca.key" -CAcreateserial \
    -out "$c/server.pem" -days 825 -extfile "$c/ext.cnf" 2>/dev/null
  chmod 644 "$c/ca.pem" "$c/server.pem"
  chmod 600 "$c/server.key" "$c/ca.key"
}

fresh_root() { # fresh_root DIR GREETING : empty FTP root, 0777, with hello.txt (0644)
  rm -rf "$1"
  mkdir -p "$1"
  chmod 0755 "$(dirname "$1")"
  chmod 0777 "$1"
  echo "$2" >"$1/hello.txt"
  chmod 0644 "$1/hello.txt"
}

ftp_user() { # the system user that vsftpd logs in (PAM) and whose uid the others use
  if ! id "$FTP_USER" >/dev/null 2>&1; then
    useradd -M -d "$VSFTPD_ROOT" -s /bin/bash "$FTP_USER"
  fi
  local home shell
  home=$(getent passwd "$FTP_USER" | cut -d: -f6)
  shell=$(getent passwd "$FTP_USER" | cut -d: -f7)
  if [ "$home" != "$VSFTPD_ROOT" ] || [ "$shell" != /bin/bash ]; then
    usermod -d "$VSFTPD_ROOT" -s /bin/bash "$FTP_USER"
  fi
  echo "$FTP_USER:$FTP_PASS" | chpasswd
  FTP_UID=$(id -u "$FTP_USER")
  FTP_GID=$(id -g "$FTP_USER")
}

# ---------------------------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------------------------
start_vsftpd() {
  mkdir -p /var/run/vsftpd/empty "$BASE/vsftpd"
  echo "$FTP_DENIED_USER" >"$BASE/vsftpd/user_list"
  fresh_root "$VSFTPD_ROOT" "hello from vsftpd"
  local mode port pmin pmax force
  for mode in explicit implicit; do
    if [ $mode = explicit ]; then
      port=$VSFTPD_PORT pmin=31000 pmax=32999 force=NO
    else
      port=$VSFTPD_IMPLICIT_PORT pmin=30100 pmax=30199 force=YES
    fi
    cat >"$BASE/vsftpd/$mode.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=YES
allow_writeable_chroot=YES
pasv_enable=YES
pasv_min_port=$pmin
pasv_max_port=$pmax
pasv_address=127.0.0.1
max_clients=2000
max_per_ip=2000
port_enable=YES
connect_from_port_20=NO
seccomp_sandbox=NO
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
userlist_enable=YES
userlist_deny=YES
userlist_file=$BASE/vsftpd/user_list
xferlog_enable=YES
log_ftp_protocol=YES
vsftpd_log_file=$LOGS/vsftpd-$mode.log
ssl_enable=YES
rsa_cert_file=$CERTS/server.pem
rsa_private_key_file=$CERTS/server.key
allow_anon_ssl=NO
force_local_logins_ssl=$force
force_local_data_ssl=$force
require_ssl_reuse=YES
ssl_ciphers=HIGH
EOF
    [ $mode = explicit ] || echo 'implicit_ssl=YES' >>"$BASE/vsftpd/$mode.conf"
    bg "vsftpd-$mode" vsftpd "$BASE/vsftpd/$mode.conf"
  done
}

start_pureftpd() {
  mkdir -p "$BASE/pure"
  fresh_root "$PUREFTPD_ROOT" "hello from pure-ftpd"
  # Write the virtual-user line ourselves with a SHA-512 crypt() hash: pure-pw's default
  # (libsodium argon2/scrypt) costs about 3 s of CPU per login.
  local hash
  hash=$(openssl passwd -6 "$FTP_PASS")
  printf '%s:%s:%s:%s::%s/./::::::::::::\n' "$FTP_USER" "$hash" "$FTP_UID" "$FTP_GID" \
    "$PUREFTPD_ROOT" >"$BASE/pure/pureftpd.passwd"
  chmod 600 "$BASE/pure/pureftpd.passwd"
  rm -f "$BASE/pure/pureftpd.pdb"
  "$DEB/usr/bin/pure-pw" mkdb "$BASE/pure/pureftpd.pdb" -f "$BASE/pure/pureftpd.passwd"
  # -E no anonymous, -H no DNS, -A chroot everyone, -Y 1 TLS optional; stays in the foreground.
  bg pure-ftpd "$DEB/usr/sbin/pure-ftpd" -S "127.0.0.1,$PUREFTPD_PORT" \
    -l "puredb:$BASE/pure/pureftpd.pdb" -E -H -A -c 100 -C 100 \
    -p 30200:30299 -P 127.0.0.1 -Y 1 -2 "$CERTS/server.pem,$CERTS/server.key" \
    -O "clf:$LOGS/pure-ftpd-transfer.log"
}

start_proftpd() {
  mkdir -p "$BASE/proftpd"
  fresh_root "$PROFTPD_ROOT" "hello from proftpd"
  # AuthUserFile line (passwd(5) format) with the system user's uid/gid and a SHA-512 hash.
  printf '%s:%s:%s:%s::%s:/bin/false\n' "$FTP_USER" "$(openssl passwd -6 "$FTP_PASS")" \
    "$FTP_UID" "$FTP_GID" "$PROFTPD_ROOT" >"$BASE/proftpd/ftpd.passwd"
  chmod 600 "$BASE/proftpd/ftpd.passwd"
  local mode port pasv extra
  for mode in explicit implicit; do
    if [ $mode = explicit ]; then
      port=$PROFTPD_PORT pasv="30300 30399" extra="TLSRequired off"
    else
      port=$PROFTPD_IMPLICIT_PORT pasv="30400 30499" extra=$'TLSRequired on\nTLSOptions UseImplicitSSL'
    fi
    # Single file on purpose: proftpd refuses to Include files under /tmp.
    cat >"$BASE/proftpd/$mode.conf" <<EOF
ModulePath $DEB/usr/lib/proftpd
LoadModule mod_tls.c
ServerName "vmodem test proftpd ($mode)"
ServerType standalone
DefaultServer on
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
Port $port
User nobody
Group nogroup
MaxInstances 100
WtmpLog off
UseReverseDNS off
RequireValidShell off
ControlsEngine off
DelayEngine off
AuthOrder mod_auth_file.c
AuthUserFile $BASE/proftpd/ftpd.passwd
DefaultRoot ~
Umask 022 022
AllowOverwrite on
AllowStoreRestart on
AllowRetrieveRestart on
MasqueradeAddress 127.0.0.1
PassivePorts $pasv
PidFile $BASE/proftpd/$mode.pid
ScoreboardFile $BASE/proftpd/$mode.scoreboard
DelayTable $BASE/proftpd/$mode.delay
SystemLog $LOGS/proftpd-$mode.log
TransferLog $LOGS/proftpd-$mode-xfer.log
TLSEngine on
TLSLog $LOGS/proftpd-$mode-tls.log
TLSProtocol TLSv1.2 TLSv1.3
TLSRSACertificateFile $CERTS/server.pem
TLSRSACertificateKeyFile $CERTS/server.key
TLSVerifyClient off
$extra
EOF
    bg "proftpd-$mode" "$DEB/usr/sbin/proftpd" -n -c "$BASE/proftpd/$mode.conf"
  done
}

start_nginx() {
  rm -rf "$BASE/nginx"
  mkdir -p "$NGINX_ROOT/upload" "$BASE/nginx/tmp"
  chmod 0755 "$BASE/nginx" "$NGINX_ROOT"
  echo "hello from nginx" >"$NGINX_ROOT/hello.txt"
  head -c 1048576 /dev/urandom >"$NGINX_ROOT/1m.bin"
  chmod 0644 "$NGINX_ROOT/hello.txt" "$NGINX_ROOT/1m.bin"
  chown -R nobody:nogroup "$NGINX_ROOT/upload" "$BASE/nginx/tmp"
  cat >"$BASE/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
daemon off;
worker_processes 1;
pid $BASE/nginx/nginx.pid;
error_log $LOGS/nginx-error.log info;
events { worker_connections 256; }
http {
  access_log $LOGS/nginx-access.log;
  client_body_temp_path $BASE/nginx/tmp/body;
  proxy_temp_path $BASE/nginx/tmp/proxy;
  fastcgi_temp_path $BASE/nginx/tmp/fastcgi;
  uwsgi_temp_path $BASE/nginx/tmp/uwsgi;
  scgi_temp_path $BASE/nginx/tmp/scgi;
  default_type application/octet-stream;
  client_max_body_size 64m;
  server {
    listen 127.0.0.1:$NGINX_HTTP_PORT;
    listen 127.0.0.1:$NGINX_HTTPS_PORT ssl;
    ssl_certificate     $CERTS/server.pem;
    ssl_certificate_key $CERTS/server.key;
    root $NGINX_ROOT;
    location = /redirect  { return 302 /hello.txt; }
    location = /echo-post { echo_read_request_body; echo_request_body; }
    location /upload/     { dav_methods PUT; create_full_put_path on; }
  }
}
EOF
  bg nginx nginx -e "$LOGS/nginx-error.log" -c "$BASE/nginx/nginx.conf" -p "$BASE/nginx/"
}

start_tinyproxy() {
  mkdir -p "$BASE/tinyproxy"
  cat >"$BASE/tinyproxy/tinyproxy.conf" <<EOF
Port $TINYPROXY_PORT
Listen 127.0.0.1
Timeout 60
LogLevel Info
MaxClients 50
Allow 127.0.0.1
ConnectPort $NGINX_HTTPS_PORT
ConnectPort 443
DisableViaHeader Yes
User nobody
Group nogroup
EOF
  bg tinyproxy tinyproxy -d -c "$BASE/tinyproxy/tinyproxy.conf"
}

start_chrony() {
  mkdir -p "$BASE/chrony"
  cat >"$BASE/chrony/chrony.conf" <<EOF
port $NTP_PORT
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
pidfile $BASE/chrony/chronyd.pid
driftfile $BASE/chrony/drift
EOF
  # -x: serve time, never set this machine's clock; -d: stay in the foreground.
  bg chronyd chronyd -d -x -u root -f "$BASE/chrony/chrony.conf"
}

udp_open() { # udp_open PORT : something listens on 127.0.0.1:PORT/udp
  grep -qi " 0100007F:$(printf '%04X' "$1") " /proc/net/udp
}

write_env() {
  local tmp=$ENV_FILE.tmp
  cat >"$tmp" <<EOF
SERVERS_BASE=$BASE
FTP_USER=$FTP_USER
FTP_PASS=$FTP_PASS
FTP_DENIED_USER=$FTP_DENIED_USER
FTP_UID=$FTP_UID
FTP_GID=$FTP_GID
CA_PEM=$CERTS/ca.pem
SERVER_CERT_PEM=$CERTS/server.pem
SERVER_KEY_PEM=$CERTS/server.key
VSFTPD_PORT=$VSFTPD_PORT
VSFTPD_IMPLICIT_PORT=$VSFTPD_IMPLICIT_PORT
VSFTPD_ROOT=$VSFTPD_ROOT
PROFTPD_PORT=$PROFTPD_PORT
PROFTPD_IMPLICIT_PORT=$PROFTPD_IMPLICIT_PORT
PROFTPD_ROOT=$PROFTPD_ROOT
PUREFTPD_PORT=$PUREFTPD_PORT
PUREFTPD_ROOT=$PUREFTPD_ROOT
NGINX_HTTP_PORT=$NGINX_HTTP_PORT
NGINX_HTTPS_PORT=$NGINX_HTTPS_PORT
NGINX_ROOT=$NGINX_ROOT
TINYPROXY_PORT=$TINYPROXY_PORT
NTP_PORT=$NTP_PORT
EOF
  chmod 0644 "$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

start() {
  sanity
  if ! { unpacked_ok && command -v vsftpd && command -v nginx && command -v tinyproxy && command -v chronyd; } >/dev/null; then
    die "servers not installed: run '$0 install' first"
  fi
  lock
  rm -f "$ENV_FILE"
  mkdir -p "$PIDS" "$LOGS"
  stop_servers
  # Every port must be free now (a stray server not started by us would fake readiness).
  local entry name port i busy=()
  for entry in "${SERVERS[@]}"; do
    port=${entry##*:}
    for ((i = 0; i < 50; i++)); do port_open "$port" || break; sleep 0.1; done
    if port_open "$port"; then busy+=("$port"); fi
  done
  if [ "${#busy[@]}" -gt 0 ]; then
    command -v ss >/dev/null && ss -ltnp >&2
    die "port(s) ${busy[*]} already in use by a process this script did not start"
  fi
  rm -f "$LOGS"/*
  certs
  ftp_user
  start_vsftpd
  start_pureftpd
  start_proftpd
  start_nginx
  start_tinyproxy
  start_chrony

  # Bounded wait (10 s for all) until every port accepts; fail loudly with the log tail.
  local pending=("${SERVERS[@]}") deadline=$((SECONDS + 10)) pid exe
  while [ "${#pending[@]}" -gt 0 ]; do
    local left=()
    for entry in "${pending[@]}"; do
      name=${entry%%:*} port=${entry##*:}
      read -r pid exe <"$PIDS/$name.pid"
      if ! pid_alive "$pid"; then
        log "$name (pid $pid) exited before port $port came up"
        log_tail "$name"
        stop_servers
        die "$name failed to start"
      fi
      port_open "$port" || left+=("$entry")
    done
    pending=("${left[@]+"${left[@]}"}")
    [ "${#pending[@]}" -gt 0 ] || break
    if [ "$SECONDS" -ge "$deadline" ]; then
      for entry in "${pending[@]}"; do
        log "${entry%%:*}: port ${entry##*:} not accepting connections after 10 s"
        log_tail "${entry%%:*}"
      done
      stop_servers
      die "servers did not come up"
    fi
    sleep 0.1
  done
  for ((i = 0; i < 100; i++)); do udp_open "$NTP_PORT" && break; sleep 0.1; done
  udp_open "$NTP_PORT" || { log_tail chronyd; stop_servers; die "chronyd: port $NTP_PORT/udp not open after 10 s"; }
  for entry in "${SERVERS[@]}" "chronyd:$NTP_PORT"; do
    name=${entry%%:*}
    read -r pid exe <"$PIDS/$name.pid"
    pid_is_ours "$pid" "$exe" || { log_tail "$name"; stop_servers; die "$name (pid $pid) is not running $exe"; }
  done
  write_env
  log "all servers up; environment in $ENV_FILE"
}

stop() {
  sanity
  lock
  rm -f "$ENV_FILE"
  stop_servers
  log "stopped"
}

status() {
  local entry name port pid exe state all=0
  for entry in "${SERVERS[@]}"; do
    name=${entry%%:*} port=${entry##*:}
    if port_open "$port"; then state=up; else state=down all=1; fi
    pid=-
    if [ -f "$PIDS/$name.pid" ]; then
      read -r pid exe <"$PIDS/$name.pid"
      pid_is_ours "$pid" "$exe" || pid="$pid(dead)"
    fi
    printf '%-18s 127.0.0.1:%-5s %-4s pid %s\n' "$name" "$port" "$state" "$pid"
  done
  if [ -f "$ENV_FILE" ]; then echo "env file: $ENV_FILE"; else echo "env file: (none)"; fi
  return "$all"
}

# ---------------------------------------------------------------------------------------------
# smoke: curl against every server, including writes in a test-made subdirectory
# ---------------------------------------------------------------------------------------------
SMOKE_FAILS=0
SMOKE_PASSES=0

check() { # check DESCRIPTION CMD... : run CMD, count and report the result
  local desc=$1 out t0=${EPOCHREALTIME/./} ms
  shift
  if out=$("$@" 2>&1); then
    ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
    SMOKE_PASSES=$((SMOKE_PASSES + 1))
    printf 'ok    %-70s %5d ms\n' "$desc" "$ms"
  else
    ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
    SMOKE_FAILS=$((SMOKE_FAILS + 1))
    printf 'FAIL  %-70s %5d ms\n' "$desc" "$ms"
    printf '%s\n' "$out" | tail -n 5 | sed 's/^/      /'
  fi
}

# curl with the FTP credentials, the test CA, no proxy from the environment, bounded time
fcurl() { curl -sS --fail --noproxy '*' --max-time 20 -u "$FTP_USER:$FTP_PASS" --cacert "$CERTS/ca.pem" "$@"; }
hcurl() { curl -sS --max-time 20 --cacert "$CERTS/ca.pem" "$@"; }

expect_output() { # expect_output EXPECTED CMD... : CMD's stdout equals EXPECTED
  local want=$1 got
  shift
  got=$("$@") || return 1
  [ "$got" = "$want" ] || { echo "expected '$want', got '$got'"; return 1; }
}

expect_match() { # expect_match REGEX CMD... : CMD's stdout matches REGEX (grep -E)
  local re=$1 got
  shift
  got=$("$@") || return 1
  grep -Eq -- "$re" <<<"$got" || { echo "output did not match /$re/: $got"; return 1; }
}

upload_ok() { # upload_ok LOCAL URL DISKFILE [curl args]: upload then compare on disk
  local src=$1 url=$2 disk=$3
  shift 3
  fcurl "$@" -T "$src" "$url" || return 1
  cmp "$src" "$disk"
}

quote_ok() { # quote_ok URL CMDS... : send FTP commands (after login), then list URL
  local url=$1 args=()
  shift
  local q
  for q in "$@"; do args+=(-Q "$q"); done
  fcurl "${args[@]}" -l "$url" >/dev/null
}

active_ftps() { # active_ftps PORT GREETING : PORT-mode FTPS with TLS session reuse, via python3
  python3 - "$1" "$2" "$FTP_USER" "$FTP_PASS" "$CERTS/ca.pem" <<'PY'
import ftplib, io, ssl, sys
port, greeting, user, password, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
class ReuseFTP(ftplib.FTP_TLS):  # stock ftplib does not resume the control session on data
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size
ctx = ssl.create_default_context(cafile=ca)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
f = ReuseFTP(context=ctx, timeout=20)
f.connect("localhost", port)
f.login(user, password)
f.prot_p()
f.set_pasv(False)
buf = io.BytesIO()
f.retrbinary("RETR hello.txt", buf.write)
assert buf.getvalue().decode().strip() == greeting, buf.getvalue()
f.storbinary("STOR active-ftps.bin", io.BytesIO(b"x" * 100000))
assert f.size("active-ftps.bin") == 100000
f.delete("active-ftps.bin")
f.quit()
PY
}

smoke_ftp() { # smoke_ftp NAME PORT IMPLICIT_PORT|- ROOT
  # FTPS uploads are pinned to TLS 1.2: with TLS 1.3, vsftpd (require_ssl_reuse=YES) answers
  # ~40% of uploads with "426 Failure reading network stream", even from curl.
  local name=$1 port=$2 iport=$3 root=$4 tls=(--ssl-reqd --tls-max 1.2)
  local plain=ftp://127.0.0.1:$port explicit=ftp://localhost:$port
  local greeting
  greeting=$(cat "$root/hello.txt")
  check "$name plain RETR (passive)" expect_output "$greeting" fcurl "$plain/hello.txt"
  check "$name explicit FTPS RETR" expect_output "$greeting" fcurl "${tls[@]}" "$explicit/hello.txt"
  if [ "$iport" != - ]; then
    check "$name implicit FTPS RETR" expect_output "$greeting" fcurl "ftps://localhost:$iport/hello.txt"
  fi
  check "$name active mode RETR (EPRT/PORT)" expect_output "$greeting" fcurl -P 127.0.0.1 "$plain/hello.txt"
  # Active mode over TLS: Debian 12's curl 7.88.1 cannot do it (curl/curl#10666, a 7.87
  # regression), so that check uses python3's ftplib when python3 is installed.
  if command -v python3 >/dev/null; then
    check "$name active mode explicit FTPS RETR+STOR+DELE (python3 ftplib)" active_ftps "$port" "$greeting"
  fi
  check "$name LIST /" expect_match 'hello\.txt' fcurl "$plain/"

  # A subdirectory made by the test (as root, 0777) holding a root-owned 0644 fixture.
  local sub=$root/smoke tmp
  rm -rf "$sub"
  mkdir "$sub"
  chmod 0777 "$sub"
  echo "fixture for $name" >"$sub/fixture.txt"
  chmod 0644 "$sub/fixture.txt"
  tmp=$(mktemp)
  head -c 200000 /dev/urandom >"$tmp"

  check "$name RETR root-owned fixture in subdir" expect_output "fixture for $name" \
    fcurl "${tls[@]}" "$explicit/smoke/fixture.txt"
  check "$name STOR into subdir (explicit FTPS, data-channel reuse)" \
    upload_ok "$tmp" "$explicit/smoke/up.bin" "$sub/up.bin" "${tls[@]}"
  check "$name STOR into root dir (plain)" upload_ok "$tmp" "$plain/root-up.bin" "$root/root-up.bin"
  check "$name STOR active mode" upload_ok "$tmp" "$plain/smoke/active.bin" "$sub/active.bin" -P 127.0.0.1
  if [ "$iport" != - ]; then
    check "$name STOR implicit FTPS" upload_ok "$tmp" "ftps://localhost:$iport/smoke/implicit.bin" \
      "$sub/implicit.bin" --tls-max 1.2
  fi
  check "$name RETR own upload" cmp "$tmp" <(fcurl "${tls[@]}" "$explicit/smoke/up.bin")
  check "$name RNFR/RNTO upload" quote_ok "$explicit/smoke/" "RNFR /smoke/up.bin" "RNTO /smoke/moved.bin"
  check "$name   -> renamed on disk" test -f "$sub/moved.bin" -a ! -e "$sub/up.bin"
  check "$name RNFR/RNTO root-owned fixture" quote_ok "$plain/smoke/" "RNFR /smoke/fixture.txt" "RNTO /smoke/fixture2.txt"
  check "$name   -> renamed on disk" test -f "$sub/fixture2.txt" -a ! -e "$sub/fixture.txt"
  check "$name MKD in subdir" quote_ok "$plain/smoke/" "MKD /smoke/newdir"
  check "$name   -> directory on disk" test -d "$sub/newdir"
  check "$name STOR into FTP-made dir" upload_ok "$tmp" "$explicit/smoke/newdir/inner.bin" "$sub/newdir/inner.bin" "${tls[@]}"
  check "$name DELE + RMD in subdir" quote_ok "$plain/smoke/" "DELE /smoke/newdir/inner.bin" "RMD /smoke/newdir"
  check "$name   -> directory gone" test ! -e "$sub/newdir"
  check "$name DELE upload, root-owned fixture, root-dir upload" quote_ok "$plain/" \
    "DELE /smoke/moved.bin" "DELE /smoke/fixture2.txt" "DELE /root-up.bin"
  check "$name   -> files gone" test ! -e "$sub/moved.bin" -a ! -e "$sub/fixture2.txt" -a ! -e "$root/root-up.bin"
  check "$name uploads owned by FTP user" test "$(stat -c %u "$sub/active.bin" 2>/dev/null)" = "$(id -u "$FTP_USER")"
  rm -rf "$sub" "$tmp"
}

smoke_http() {
  local http=http://127.0.0.1:$NGINX_HTTP_PORT https=https://localhost:$NGINX_HTTPS_PORT
  local proxy=http://127.0.0.1:$TINYPROXY_PORT tmp
  check "nginx HTTP GET" expect_output "hello from nginx" hcurl --noproxy '*' "$http/hello.txt"
  check "nginx HTTPS GET (localhost)" expect_output "hello from nginx" hcurl --noproxy '*' "$https/hello.txt"
  check "nginx HTTPS GET (127.0.0.1 SAN)" expect_output "hello from nginx" \
    hcurl --noproxy '*' "https://127.0.0.1:$NGINX_HTTPS_PORT/hello.txt"
  check "nginx HTTPS Range 1000-1999 -> 206" expect_match '^206 bytes 1000-1999/1048576 1000$' \
    hcurl --noproxy '*' -r 1000-1999 -o /dev/null -w '%{http_code} %header{content-range} %{size_download}' "$https/1m.bin"
  check "nginx HTTP Range 0-9 -> 206" expect_output "206" \
    hcurl --noproxy '*' -r 0-9 -o /dev/null -w '%{http_code}' "$http/1m.bin"
  check "nginx redirect -> 302 Location" expect_match '^302 .*/hello\.txt$' \
    hcurl --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' "$http/redirect"
  check "nginx POST echo" expect_output "ping-pong" hcurl --noproxy '*' --data-binary ping-pong "$https/echo-post"
  tmp=$(mktemp)
  head -c 100000 /dev/urandom >"$tmp"
  check "nginx PUT upload -> 201" expect_output "201" \
    hcurl --noproxy '*' -T "$tmp" -o /dev/null -w '%{http_code}' "$https/upload/smoke/put.bin"
  check "nginx   -> PUT file on disk" cmp "$tmp" "$NGINX_ROOT/upload/smoke/put.bin"
  rm -rf "$tmp" "$NGINX_ROOT/upload/smoke"
  check "tinyproxy HTTP forward" expect_output "hello from nginx" hcurl -x "$proxy" "$http/hello.txt"
  check "tinyproxy CONNECT to HTTPS" expect_output "hello from nginx" hcurl -x "$proxy" "$https/hello.txt"
  check "tinyproxy CONNECT + Range" expect_output "206" \
    hcurl -x "$proxy" -r 0-99 -o /dev/null -w '%{http_code}' "$https/1m.bin"
}

smoke() {
  sanity
  [ -f "$ENV_FILE" ] || die "$ENV_FILE missing: run '$0 start' first"
  local t0=$SECONDS
  smoke_ftp vsftpd "$VSFTPD_PORT" "$VSFTPD_IMPLICIT_PORT" "$VSFTPD_ROOT"
  smoke_ftp proftpd "$PROFTPD_PORT" "$PROFTPD_IMPLICIT_PORT" "$PROFTPD_ROOT"
  smoke_ftp pure-ftpd "$PUREFTPD_PORT" - "$PUREFTPD_ROOT"
  smoke_http
  echo "smoke: $SMOKE_PASSES passed, $SMOKE_FAILS failed ($((SECONDS - t0)) s)"
  [ "$SMOKE_FAILS" -eq 0 ]
}

case ${1:-start} in
  install | start | stop | status | smoke) "${1:-start}" ;;
  -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d' ;;
  *)
    echo "usage: $0 [install|start|stop|status|smoke]" >&2
    exit 2
    ;;
esac
