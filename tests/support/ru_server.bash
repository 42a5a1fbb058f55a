# bats helpers for ru-fetch: the local randomuser.me stand-in (ru_server.py).
# start_ru_server [ru_server.py args...]: exports RU_URL (http://127.0.0.1:PORT),
# RU_LOG (one line per request: PATH?QUERY) and RU_PID.
start_ru_server() {
  RU_DIR=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/ru.XXXXXX")
  RU_LOG=$RU_DIR/requests.log
  : >"$RU_LOG"
  python3 "$PIPEKIT_ROOT/tests/support/ru_server.py" --port-file "$RU_DIR/port" --log "$RU_LOG" "$@" \
    >"$RU_DIR/stdout" 2>"$RU_DIR/stderr" 3>&- &
  RU_PID=$!
  wait_for_file "$RU_DIR/port" "$RU_PID" "$RU_DIR/stderr" || return 1
  RU_URL=http://127.0.0.1:$(cat "$RU_DIR/port")
  export RU_URL RU_LOG RU_PID RU_DIR
}

stop_ru_server() {
  if [ -n "${RU_PID:-}" ]; then
    kill "$RU_PID" 2>/dev/null || true
    wait "$RU_PID" 2>/dev/null || true
    RU_PID=
  fi
}

# requests: how many requests the server saw.
requests() { wc -l <"$RU_LOG" | tr -d ' '; }
