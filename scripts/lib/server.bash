# scripts/lib/server.bash: what every throwaway Java test server of
# `scripts/servers NAME` (scripts/servers.d/NAME) needs, in one place.
# Sourced by those scripts (which run with `set -euo pipefail`); call
# server_init NAME first. It owns:
#
#   messages    say, die                  "servers NAME: ..." on stderr
#   Java        java_find MIN [MAX]       picks a Java (17 here), sets JAVA
#   jars        jars_ensure, jars_fetch, jars_verify, jars_pin
#               the server's jars from its pinned Maven pom, fetched into the
#               cache outside the repository ($PIPEKIT_CACHE, default
#               ~/.cache/pipekit) and checked against pinned sha256 sums
#   TLS         tls_ca, tls_cert, tls_pem_keystore, tls_p12_keystore,
#               tls_p12_truststore: a CA, server and client certificates,
#               keystores and truststores for the JVM, PEM for clients
#   state dir   state_dir_claim           never wipes a dir it did not make
#   ports       port_in_use
#   processes   jvm_start                 a JVM in the background, log in the
#                                         state dir, pid in a pid file
#               pid_of, pid_alive, pids_alive, pids_wait
#               pids_stop                 TERM, wait, KILL after a grace
#   readiness   wait_ready                a condition and a deadline, never a
#                                         fixed sleep; on failure the end of
#                                         the log is shown and the log is kept
#   logs        log_tail, log_rotate
#
# What a server script keeps: its options, its configuration files, its JVM
# options, what "ready" means for it, and its state files.

# ---------------------------------------------------------------- messages

server_init() { # NAME: the server's name in messages; the cache directory
    SERVER_NAME=$1
    SERVER_CACHE=${PIPEKIT_CACHE:-$HOME/.cache/pipekit}
}

say() { printf 'servers %s: %s\n' "$SERVER_NAME" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---------------------------------------------------------------- Java

# java_find MIN [MAX]: the first Java whose feature version is in MIN..MAX (no
# MAX: MIN or later), trying $JAVA (when set, only it: it must fit),
# $JAVA_HOME/bin/java, Debian's java-MIN-openjdk, then `java` on PATH. Sets
# JAVA (a path), JAVA_VERSION (e.g. 17) and JAVA_VM_VERSION (the exact build).
# Once per process.
java_find() {
    local min=$1 max=${2:-} j wanted candidates=()
    [[ -z ${SERVER_JAVA_FOUND:-} ]] || return 0
    case $max in
        "") wanted="Java $min or later" ;;
        "$min") wanted="Java $min" ;;
        *) wanted="Java $min..$max" ;;
    esac
    if [[ -n ${JAVA:-} ]]; then
        candidates=("$JAVA")
    else
        candidates=(${JAVA_HOME:+"$JAVA_HOME/bin/java"} /usr/lib/jvm/java-"$min"-openjdk-*/bin/java java)
    fi
    for j in "${candidates[@]}"; do
        j=$(command -v "$j") || continue
        java_version_of "$j" || continue
        if ((JAVA_VERSION >= min && JAVA_VERSION <= ${max:-999})); then
            JAVA=$j SERVER_JAVA_FOUND=1
            return 0
        fi
        say "skipping $j: Java $JAVA_VERSION, not $wanted"
    done
    die "no $wanted found (apt-get install openjdk-$min-jre-headless, or set JAVA)"
}

java_version_of() { # JAVA: sets JAVA_VERSION and JAVA_VM_VERSION from its properties
    local props
    props=$("$1" -XshowSettings:properties -version 2>&1) || return 1
    JAVA_VERSION=$(sed -n 's/^ *java\.specification\.version = //p' <<<"$props")
    JAVA_VM_VERSION=$(sed -n 's/^ *java\.vm\.version = //p' <<<"$props")
    JAVA_VERSION=${JAVA_VERSION%%.*}
    [[ $JAVA_VERSION =~ ^[0-9]+$ ]]
}

# ---------------------------------------------------------------- jars
#
# A server's jars are named by a Maven pom next to its script
# (servers.d/NAME-pom.xml, exact versions) and pinned by the sha256 of each
# jar that pom resolves to (servers.d/NAME-jars.sha256, `sha256sum` lines,
# '#' comments). What is verified:
#   - while downloading, Maven checks every artifact against the .sha1 file
#     Maven Central serves beside it; --strict-checksums makes a mismatch (or
#     a missing .sha1) fail the fetch instead of a warning;
#   - after every fetch, before the jars replace the cache's: the fetched set
#     must be exactly the pinned list (no jar more, none missing) and each
#     jar's sha256 must be the pinned one. That catches an artifact changed
#     upstream, a corrupted local Maven repository ($PIPEKIT_CACHE/m2) and a
#     pom changed without new pins. It fails loudly, naming each bad jar, and
#     the cache keeps what it had;
#   - LIBS/.pinned records the sha256 of the pin list the jars passed: a
#     start only checks that the pins have not changed since (cheap), while
#     `scripts/servers NAME fetch` hashes every cached jar again and fetches
#     anew when one differs.
# Not verified by us: Maven and its plugins (maven-dependency-plugin), beyond
# Maven's own .sha1 check of what it downloads.
# New pins, after a pom change: `scripts/servers NAME fetch --pin` downloads
# everything again into an empty Maven repository (each artifact checked
# against Central's .sha1 on the way) and writes the list.

# jars_ensure POM PINS LIBS [--verify]: afterwards LIBS holds the pinned jars.
jars_ensure() {
    local pom=$1 pins=$2 libs=$3
    if jars_ready "$libs" "$pins"; then
        [[ ${4:-} == --verify ]] || return 0
        jars_verify "$libs" "$pins" && return 0
        say "the cached jars in $libs are not the pinned ones: fetching them again"
    fi
    jars_fetch "$pom" "$pins" "$libs"
}

jars_ready() { # LIBS PINS: fetched, and verified against these very pins
    [[ -f $1/.pinned && $(<"$1/.pinned") == "$(pins_id "$2")" ]]
}

pins_id() { sha256sum <"$1" | cut -d' ' -f1; }
pins_lines() { grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$1"; }
pins_names() { pins_lines "$1" | sed 's/^[0-9a-f]*[ *]*//' | LC_ALL=C sort; }

# jars_fetch POM PINS LIBS: Maven copies the pom's runtime jars into a new
# directory; only if they verify does it replace LIBS. Maven's output goes to
# fetch.log beside LIBS (shown on failure).
jars_fetch() {
    local pom=$1 pins=$2 libs=$3 home tmp log
    home=$(dirname "$libs")
    log=$home/fetch.log
    [[ -f $pom ]] || die "pom not found: $pom"
    [[ -f $pins ]] || die "no pinned checksums $pins (make them: scripts/servers $SERVER_NAME fetch --pin)"
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    say "fetching the jars of $(basename "$pom") into $libs (once)"
    mkdir -p "$home"
    tmp=$(mktemp -d "$libs.tmp.XXXXXX")
    if ! maven_copy_jars "$pom" "$tmp" "$SERVER_CACHE/m2" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        rm -rf "$tmp"
        die "maven could not fetch the jars (see $log)"
    fi
    if ! jars_verify "$tmp" "$pins"; then
        rm -rf "$tmp"
        die "the fetched jars are not the pinned ones (a changed pom needs new pins:" \
            "scripts/servers $SERVER_NAME fetch --pin; a corrupted jar in $SERVER_CACHE/m2:" \
            "delete it there and fetch again)"
    fi
    pins_id "$pins" >"$tmp/.pinned"
    chmod 755 "$tmp"
    rm -rf "$libs"
    mv "$tmp" "$libs"
}

# (maven 3.8 -q still prints ANSI resets: its output goes to a log)
maven_copy_jars() { # POM DEST MAVEN_REPO
    mvn -q -B --strict-checksums -Dstyle.color=never -f "$1" -Dmaven.repo.local="$3" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$2"
}

# jars_verify DIR PINS: 0 if DIR's jars are exactly the pinned ones; else says
# which jar differs, is missing or is not pinned, and returns 1.
jars_verify() {
    local dir=$1 pins=$2 failed extra
    extra=$(LC_ALL=C comm -23 <(cd "$dir" && find . -maxdepth 1 -name '*.jar' -printf '%f\n' | LC_ALL=C sort) \
        <(pins_names "$pins"))
    failed=$(cd "$dir" && pins_lines "$pins" | LC_ALL=C sha256sum --check --quiet 2>&1) && [[ -z $extra ]] &&
        return 0
    say "CHECKSUM MISMATCH: the jars in $dir are not those pinned in $pins:"
    [[ -z $failed ]] || sed 's/^/    /' <<<"$failed" >&2
    [[ -z $extra ]] || sed 's/^/    /; s/$/: not pinned/' <<<"$extra" >&2
    return 1
}

# jars_pin POM PINS: resolve the pom again from Maven Central into an empty
# Maven repository and write the sha256 of every jar to PINS.
jars_pin() {
    local pom=$1 pins=$2 tmp
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    mkdir -p "$SERVER_CACHE"
    tmp=$(mktemp -d "$SERVER_CACHE/pin.XXXXXX")
    say "pinning: downloading every artifact of $(basename "$pom") into an empty Maven repository"
    if ! maven_copy_jars "$pom" "$tmp/jars" "$tmp/m2" >"$tmp/fetch.log" 2>&1; then
        tail -n 30 "$tmp/fetch.log" >&2
        rm -rf "$tmp"
        die "maven could not fetch the jars"
    fi
    {
        echo "# sha256 of each jar $(basename "$pom") resolves to (runtime scope), as downloaded"
        echo "# from Maven Central with Maven's .sha1 check. scripts/lib/server.bash checks the"
        echo "# jars against this list after every fetch. After a pom change, regenerate it with"
        echo "#   scripts/servers $SERVER_NAME fetch --pin"
        (cd "$tmp/jars" && LC_ALL=C && sha256sum -- *.jar)
    } >"$pins.tmp"
    mv "$pins.tmp" "$pins"
    rm -rf "$tmp"
    say "wrote $(pins_lines "$pins" | wc -l) pins to $pins"
}

# ---------------------------------------------------------------- TLS
#
# Test TLS material, made with openssl in DIR: EC P-256 keys (made at once;
# RSA key generation costs seconds on a busy machine), certificates valid
# 30 days (a start makes new ones). openssl's output goes to DIR/openssl.log,
# shown if a step fails.

tls_ca() { # DIR: ca.key, ca.pem (the certificate clients trust)
    tls_run "$1" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -days 30 -subj "/CN=pipekit test CA" -keyout ca.key -out ca.pem \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

# tls_cert DIR NAME CN USAGE [SAN]: NAME.key and NAME.pem, signed by the CA.
# USAGE server (serverAuth and clientAuth, for the server's own peers) or client.
tls_cert() {
    local dir=$1 name=$2 cn=$3 usage=$4 san=${5:-} eku=clientAuth
    [[ $usage == server ]] && eku=serverAuth,clientAuth
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$eku"
        [[ -z $san ]] || echo "subjectAltName=$san"
    } >"$dir/$name.ext"
    tls_run "$dir" openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=$cn" -keyout "$name.key" -out "$name.csr"
    tls_run "$dir" openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 30 -sha256 -extfile "$name.ext" -out "$name.pem"
    rm -f "$dir/$name.csr" "$dir/ca.srl"
}

tls_pem_keystore() { # DIR NAME: NAME-keystore.pem, the unencrypted PKCS#8 key then the chain
    cat "$1/$2.key" "$1/$2.pem" "$1/ca.pem" >"$1/$2-keystore.pem"
}

tls_p12_keystore() { # DIR NAME PASSWORD: NAME.p12, the key and its chain
    tls_run "$1" openssl pkcs12 -export -in "$2.pem" -inkey "$2.key" -certfile ca.pem \
        -name "$2" -out "$2.p12" -passout "pass:$3"
}

# DIR PASSWORD: truststore.p12 holding the CA. keytool, not openssl: Java only
# trusts a PKCS#12 certificate entry that carries its own attribute, which
# Debian 12's openssl cannot write. Uses the keytool next to $JAVA if any.
tls_p12_truststore() {
    local keytool=keytool
    [[ -n ${JAVA:-} && -x ${JAVA%/*}/keytool ]] && keytool=${JAVA%/*}/keytool
    tls_run "$1" "$keytool" -importcert -noprompt -alias ca -file ca.pem \
        -keystore truststore.p12 -storetype PKCS12 -storepass "$2"
}

tls_run() { # DIR COMMAND...: in DIR, output to DIR/openssl.log; dies showing it on failure
    local dir=$1
    shift
    mkdir -p "$dir"
    (cd "$dir" && "$@") >>"$dir/openssl.log" 2>&1 ||
        { tail -n 20 "$dir/openssl.log" >&2; die "TLS material: '$1' failed in $dir"; }
}

# ---------------------------------------------------------------- state dir, ports

# state_dir_claim DIR MARKER: prints DIR's absolute path (made if missing).
# Dies unless DIR is missing, empty, or holds the file MARKER, which only this
# server writes: a start then wipes it, so it must never be someone else's dir.
state_dir_claim() {
    local dir=$1 marker=$2
    if [[ -e $dir && ! -e $dir/$marker && -n $(ls -A "$dir" 2>/dev/null) ]]; then
        die "$dir exists, is not empty and was not made by scripts/servers $SERVER_NAME; pick another --dir"
    fi
    mkdir -p "$dir" && (cd "$dir" && pwd)
}

port_in_use() { # HOST PORT: something accepts connections there
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# ---------------------------------------------------------------- processes

# jvm_start PIDFILE LOG COMMAND...: COMMAND (a JVM, maybe behind wrappers that
# exec it, like setpriv) in the background in a session of its own (it outlives
# the caller's terminal), stdin /dev/null, stdout and stderr appended to LOG, no
# other inherited descriptor (bats waits for its fd 3 to close). The caller is
# no process-group leader in a script, so setsid execs in place: the pid written
# to PIDFILE is the JVM's. Follow with wait_ready.
jvm_start() {
    local pidfile=$1 log=$2
    shift 2
    setsid "$@" </dev/null >>"$log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    echo $! >"$pidfile"
}

# pid_of PIDFILE MARK: prints the pid in PIDFILE if that process is alive and
# its command line contains MARK (a pid may have been recycled); else fails.
pid_of() {
    local pid cmd
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [[ $cmd == *"$2"* ]] || return 1
    echo "$pid"
}

# pid_alive PID: running, or stopped, and not a zombie. From /proc/PID/stat,
# not the command line, which can read empty while a wrapper execs the JVM.
# (`read`, not $(<FILE): under set -e, bash 5.2 exits when that FILE is gone,
# as it is when the process has just exited, even behind `||`.)
pid_alive() {
    local stat
    [[ -n $1 ]] && read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

pids_alive() { # PID...: prints those alive
    local pid
    for pid; do pid_alive "$pid" && echo "$pid"; done
    return 0
}

pids_wait() { # DEADLINE MAX PID...: until at most MAX are alive (0), or SECONDS >= DEADLINE (1)
    local deadline=$1 max=$2
    shift 2
    while (($(pids_alive "$@" | wc -l) > max)); do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# pids_stop GRACE SIGNAL PID...: SIGNAL (and CONT: a stopped process cannot
# exit) to each, then waits; SIGKILL to those left after GRACE seconds.
pids_stop() {
    local grace=$1 sig=$2 left
    shift 2
    (($#)) || return 0
    kill -s "$sig" "$@" 2>/dev/null || true
    kill -s CONT "$@" 2>/dev/null || true
    pids_wait $((SECONDS + grace)) 0 "$@" && return 0
    left=$(pids_alive "$@")
    say "killing $(echo $left) after ${grace}s"
    # shellcheck disable=SC2086
    kill -s KILL $left 2>/dev/null || true
    # shellcheck disable=SC2086
    pids_wait $((SECONDS + 10)) 0 $left || say "still alive after SIGKILL: $(echo $left)"
}

# ---------------------------------------------------------------- readiness

# wait_ready WHAT DEADLINE PID LOG CHECK...: runs CHECK (a command) every
# $WAIT_EVERY seconds (0.5) until it succeeds. Fails, saying why and showing
# the end of LOG (which stays where it is), when process PID (if not "") is
# gone, or once SECONDS reaches DEADLINE (with CHECK's last output).
wait_ready() {
    local what=$1 deadline=$2 pid=$3 log=$4 out
    shift 4
    while :; do
        if [[ -n $pid ]] && ! pid_alive "$pid"; then
            say "$what exited while starting"
            [[ -z $log ]] || log_tail "$log"
            return 1
        fi
        out=$("$@" 2>&1) && return 0
        if ((SECONDS >= deadline)); then
            say "$what not ready in time${out:+: $(tail -n 3 <<<"$out")}"
            [[ -z $log ]] || log_tail "$log"
            return 1
        fi
        sleep "${WAIT_EVERY:-0.5}"
    done
}

# ---------------------------------------------------------------- logs

# log_tail LOG [N]: on stderr, its first error lines (a JVM that fails logs its
# shutdown after the cause) and its last N (30) lines.
log_tail() {
    local errors
    errors=$(grep -m 5 -E '^(ERROR|FATAL)|[] ](ERROR|FATAL) |Exception:' "$1" 2>/dev/null) || true
    [[ -z $errors ]] || { say "first errors in $1:"; sed 's/^/    /' <<<"$errors" >&2; }
    say "last lines of $1 (the log is kept):"
    tail -n "${2:-30}" "$1" 2>/dev/null | sed 's/^/    /' >&2 || true
}

log_rotate() { # LOG: appends LOG to LOG.old and empties it (a restarted node's log)
    [[ -f $1 ]] || return 0
    cat "$1" >>"$1.old"
    : >"$1"
}
