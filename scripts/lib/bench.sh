# Benchmark helpers (sourced through scripts/lib.sh): the common seed
# database and the one parser of wrk's output.

# bench_database NAME USERS: a fresh database NAME with the schema (user-api of
# $PROFILE, default release, must be built) and users u1..uUSERS, each with a profile, a phone
# number, a Stripe customer and a stored card — the benchmarks' common seed.
bench_database() {
  local db=$1 users=$2
  local psql=(psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$db")
  dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$db"
  createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$db"
  DATABASE_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$db" RUST_LOG=warn "$ROOT/target/${PROFILE:-release}/user-api" migrate
  "${psql[@]}" -c "
    INSERT INTO users (clerk_user_id, email, first_name, last_name, phone_number,
                       stripe_customer_id, card_payment_method_id, card_brand, card_last4,
                       card_exp_month, card_exp_year, card_updated_at)
    SELECT 'u' || i, 'u' || i || '@example.com', 'First' || i, 'Last' || i, '+6591234567',
           'cus_' || i, 'pm_' || i, 'visa', '4242', 12, 2030, now()
    FROM generate_series(1, $users) AS i"
  "${psql[@]}" -c "VACUUM ANALYZE users"
}

# wrk_stats WRK_OUTPUT CEILING: sets rps, p50, p99, errors (or "none") and
# ratio (rps / CEILING) from wrk --latency output — the benchmarks' one parser.
wrk_stats() {
  local out=$1 ceiling=$2
  rps="$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')"
  p50="$(printf '%s\n' "$out" | awk '$1=="50%" {print $2}')"
  p99="$(printf '%s\n' "$out" | awk '$1=="99%" {print $2}')"
  errors="$(printf '%s\n' "$out" | grep -E 'Non-2xx|Socket errors' | tr -s ' ' | paste -sd ';' || true)"
  errors="${errors:-none}"
  ratio="$(awk -v a="$rps" -v b="$ceiling" 'BEGIN {printf "%.2f", a / b}')"
}

