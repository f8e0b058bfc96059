# Shared by scripts/test: a schema-driven fuzzer (schemathesis, from PyPI, in a virtualenv under
# target/) against a demo server, once with each demo role's token. Source it after
# scripts/lib/postgres.sh, then call `fuzz_api DATABASE_URL LABEL`. Fails on any server error or
# any answer outside the OpenAPI document (status, content type or body schema).

SCHEMATHESIS_VERSION=4.32.5
# Examples per operation and role: 5 give ~3,000 requests a role, every operation tried with
# every role's token on both engines, in about 1.5 minutes of CI's budget (8 took 130 s, and the
# suite crossed its 15 minutes). SSN_FUZZ_EXAMPLES=50 for a deeper run by hand.
SCHEMATHESIS_EXAMPLES=${SSN_FUZZ_EXAMPLES:-5}

schemathesis_bin() {
    local venv=target/schemathesis-venv
    if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
        log "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $venv"
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
    fi
    echo "$PWD/$venv/bin/st"
}

fuzz_api() {
    local database_url="$1" label="$2"
    local st dir port base pid status=0
    st=$(schemathesis_bin)
    dir=$(mktemp -d -t ssn-fuzz.XXXXXX)
    port=$(free_port)
    base="http://127.0.0.1:$port"
    SSN_LOG=warn target/debug/ssn --database-url "$database_url" --data-dir "$dir" \
        serve --demo --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        curl -fs "$base/readyz" >/dev/null 2>&1 && break
        sleep 0.2
    done
    local role
    for role in admin:demo-admin-pass dinsos:demo-office-pass warung-berkah:demo-operator-pass \
                kaltimtara:demo-bank-pass auditor:demo-auditor-pass \
                verifikator:demo-verifier-pass; do
        local user=${role%%:*} password=${role#*:} token
        token=$(curl -fs -X POST "$base/v1/auth/login" -H 'content-type: application/json' \
            -d "{\"username\":\"$user\",\"password\":\"$password\"}" \
            | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
        log "schemathesis on $label as $user ($SCHEMATHESIS_EXAMPLES examples an operation)"
        # Run from the scratch directory: schemathesis keeps a cache where it runs.
        if ! (cd "$dir" && timeout 300 "$st" run "$base/v1/openapi.json" -H "Authorization: Bearer $token" \
            --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
            --max-examples "$SCHEMATHESIS_EXAMPLES" --workers 2 --generation-deterministic \
            >"$dir/schemathesis-$user.log" 2>&1); then
            cat "$dir/schemathesis-$user.log" >&2
            status=1
        fi
        grep -E 'generated' "$dir/schemathesis-$user.log" | tail -1 | sed "s/^/    $user: /" >&2
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    if [ "$status" -ne 0 ]; then
        log "schemathesis found answers outside the OpenAPI document on $label (server log: $dir/server.log)"
        return 1
    fi
    rm -rf "$dir"
}
