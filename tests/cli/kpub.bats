#!/usr/bin/env bats
# kpub's command line: usage errors (exit 2) and --dump-config. These need no
# broker: kpub must refuse bad flags before it connects anywhere.
load ../support/common

@test "kpub without -t is a usage error (exit 2)" {
  run kpub -b 127.0.0.1:1 </dev/null
  assert_failure 2
  assert_output --partial "-t/--topic is required"
}

@test "kpub rejects bad flag values with exit 2" {
  run kpub -t x -z brotli </dev/null
  assert_failure 2
  run kpub -t x -p -1 </dev/null
  assert_failure 2
  run kpub -t x -H novalue </dev/null
  assert_failure 2
  assert_output --partial "name=value"
  run kpub -t x -H =v </dev/null
  assert_failure 2
  run kpub -t x -k login.uuid --key-fixed k </dev/null
  assert_failure 2
  run kpub -t x --keep-topic </dev/null
  assert_failure 2
  run kpub -t x --max-line-bytes lots </dev/null
  assert_failure 2
  assert_output --partial "not a size"
  run kpub -t x -k "" </dev/null
  assert_failure 2
  run kpub -t x -X nonsense.property=1 </dev/null
  assert_failure 2
  assert_output --partial "nonsense.property"
}

@test "kpub --dump-config shows the producer defaults and the overrides, secrets hidden" {
  printf 'sasl.password=hunter2\nlinger.ms=7\n' >"$BATS_TEST_TMPDIR/client.properties"
  run kpub --dump-config -b h1:9092 -F "$BATS_TEST_TMPDIR/client.properties" -X batch.num.messages=500 -X compression.codec=gzip -z lz4
  assert_success
  assert_line "enable.idempotence=true"
  assert_line "acks=all"
  assert_line "linger.ms=7"
  assert_line "batch.num.messages=500"
  assert_line "compression.codec=lz4"
  assert_line "bootstrap.servers=h1:9092"
  assert_line "sasl.password=[hidden]"
  refute_output --partial "hunter2"
}

@test "kpub compresses with lz4 unless -z or the configuration names a codec" {
  run kpub --dump-config -b h1:9092
  assert_success
  assert_line "compression.codec=lz4"
  run kpub --dump-config -b h1:9092 -X compression.type=zstd
  assert_line "compression.type=zstd"
  refute_output --partial "compression.codec"
  run kpub --dump-config -b h1:9092 -z none
  assert_line "compression.codec=none"
  refute_output --partial "lz4"
}

@test "a -X value is never echoed for a secret property" {
  run kpub -t x -X sasl.password
  assert_failure 2
  refute_output --partial "sasl.password'"
}

@test "kpub --help lists the flags other tools rely on" {
  run kpub --help
  assert_success
  for f in --topic --brokers --key --key-fixed --header --partition --compression --envelope \
           --keep-topic --rejects --max-rejects --failed --max-line-bytes --dump-config; do
    assert_output --partial -- "$f"
  done
}

@test "an unwritable --failed or --rejects file, or unreadable input, is a local I/O error (exit 4)" {
  run kpub -t x -b 127.0.0.1:1 --failed /nonexistent/dir/failed </dev/null
  assert_failure 4
  assert_output --partial "cannot open /nonexistent/dir/failed"
  run kpub -t x -b 127.0.0.1:1 --rejects /nonexistent/dir/rejects </dev/null
  assert_failure 4
  run kpub -t x -b 127.0.0.1:1 </
  assert_failure 4
  assert_output --partial "reading input"
}
