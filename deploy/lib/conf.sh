# shellcheck shell=bash disable=SC2034,SC2153
# deploy/lib/conf.sh: the files of a stack directory: the master keyring,
# aigw.conf, who may read them, the demo app's keys and stack.env.
# Sourced by deploy/stack; uses DIR RUN CONF KEYRING ADMIN and the db/upstream/
# pool variables from it.

# The keyring is made once and never rewritten: losing it makes every stored
# key hash and BYOK ciphertext useless.
keyring_ensure() {
	if [ ! -f "$KEYRING" ]; then
		say "creating the master keyring $KEYRING"
		(
			umask 077
			printf '# aigw master keyring: "ID HEX64" per line, the highest ID is current.\n1 %s\n' \
				"$(rand_hex 32)" >"$KEYRING.new"
		)
		mv -f "$KEYRING.new" "$KEYRING"
	fi
}

# Keys deploy/stack sets in aigw.conf; every other line of an existing file
# (an operator's additions such as auth_cache_ttl_s or cors_origin) is kept.
CONF_MANAGED="db_socket db_host db_port db_name db_user db_password keyring upstream_url upstream_key journal_dir"

# Writes DIR/aigw.conf (mode 0640, group set by secrets_owner). Returns 0 if
# its content changed.
conf_write() {
	local new=$CONF.new kept
	kept=$(conf_kept_lines)
	(
		umask 077
		{
			printf '# aigw.conf of the stack in %s, written by deploy/stack up.\n' "$DIR"
			printf '# The keys below are rewritten by every \"deploy/stack up\"; lines you add are kept.\n'
			printf 'db_socket = %s\n' "$DB_SOCK"
			printf 'db_name = %s\n' "$DB_NAME"
			printf 'db_user = %s\n' "$DB_USER"
			printf 'db_password = %s\n' "$DB_PASSWORD"
			printf 'keyring = %s\n' "$KEYRING"
			printf 'upstream_url = %s\n' "$UPSTREAM_URL"
			[ -z "$UPSTREAM_KEY" ] || printf 'upstream_key = %s\n' "$UPSTREAM_KEY"
			printf 'journal_dir = %s\n' "$JOURNAL_DIR"
			if [ -n "$kept" ]; then
				printf '%s\n' "$kept"
			fi
			if ! printf '%s\n' "$kept" | grep -qE '^[[:space:]]*log_level[[:space:]]*='; then
				printf 'log_level = info\n'
			fi
		} >"$new"
	)
	install_if_changed "$new" "$CONF" 0640
}

# The lines of the current aigw.conf that deploy/stack does not manage
# (its own two header comment lines excepted).
conf_kept_lines() {
	[ -f "$CONF" ] || return 0
	local pattern
	pattern="^[[:space:]]*($(printf '%s' "$CONF_MANAGED" | tr ' ' '|'))[[:space:]]*="
	grep -vE "$pattern" "$CONF" |
		grep -vE '^# (aigw.conf of the stack in|The keys below are rewritten by)' |
		sed -e '/./,$!d' || true
}

# Who may read aigw.conf and the keyring: the account aigw.fcgi runs as
# (FCGI_USER: the pool's aigw, or the web server's account when mod_fcgid
# spawns aigw.fcgi), and root. aigw.conf is root's, readable by that
# account's group (0640); the keyring belongs to the account itself, read
# only (0400), since aigw.fcgi refuses a keyring with any group or other bit.
# admin.conf, reader.cnf and demo-keys.env stay root's alone.
secrets_owner() {
	chown "root:$FCGI_GROUP" "$CONF"
	chmod 0640 "$CONF"
	chown "$FCGI_USER:$FCGI_GROUP" "$KEYRING"
	chmod 0400 "$KEYRING"
}

# Creates the demo app and a client and an admin key once; the tokens go to
# DIR/demo-keys.env (0600). Recreates them if the app vanished (new database).
demo_ensure() {
	local keys=$DIR/demo-keys.env client admin
	if [ -s "$keys" ] && "$ADMIN" --config "$CONF" app show "$DEMO_APP" >/dev/null 2>&1; then
		return 0
	fi
	if ! "$ADMIN" --config "$CONF" app show "$DEMO_APP" >/dev/null 2>&1; then
		say "creating the demo app '$DEMO_APP'"
		"$ADMIN" --config "$CONF" app create --id "$DEMO_APP" --name Demo >/dev/null ||
			die "aigw-admin app create failed"
	fi
	say "creating the demo app's client and admin keys ($keys)"
	client=$("$ADMIN" --config "$CONF" key create --app "$DEMO_APP" --role client --name demo-client) ||
		die "aigw-admin key create failed"
	admin=$("$ADMIN" --config "$CONF" key create --app "$DEMO_APP" --role admin --name demo-admin) ||
		die "aigw-admin key create failed"
	(
		umask 077
		printf 'AIGW_DEMO_CLIENT_KEY=%s\nAIGW_DEMO_ADMIN_KEY=%s\n' "$client" "$admin" >"$keys.new"
	)
	mv -f "$keys.new" "$keys"
	chmod 0600 "$keys"
}

# DIR/stack.env: what tests and scripts need to talk to this stack (no
# secrets: the demo keys are in demo-keys.env). Also the memory of the
# options of this `up`, which the next `up` starts from.
stackenv_write() {
	local new=$STACK_ENV.new
	{
		printf '# Written by deploy/stack up; source it (bash) or read KEY=VALUE lines.\n'
		printf 'AIGW_BASE_URL=%q\n' "http://127.0.0.1:$PORT"
		printf 'AIGW_CONFIG=%q\n' "$CONF"
		printf 'AIGW_DB_SOCKET=%q\n' "$DB_SOCK"
		printf 'AIGW_DB_NAME=%q\n' "$DB_NAME"
		printf 'AIGW_SERVER=%q\n' "$SERVER"
		printf 'AIGW_PORT=%q\n' "$PORT"
		printf 'AIGW_DEMO_APP=%q\n' "$DEMO_APP"
		printf 'AIGW_DEMO_KEYS=%q\n' "$DIR/demo-keys.env"
		printf 'AIGW_ADMIN=%q\n' "$ADMIN"
		printf 'AIGW_FCGI=%q\n' "$FCGI"
		printf 'AIGW_DIR=%q\n' "$DIR"
		printf 'AIGW_ADMIN_CONFIG=%q\n' "$ADMIN_CONF"
		printf 'AIGW_READER_CNF=%q\n' "$READER_CNF"
		printf 'AIGW_FCGI_USER=%q\n' "$FCGI_USER"
		printf 'AIGW_UPSTREAM_URL=%q\n' "$UPSTREAM_URL"
		printf 'AIGW_UPSTREAM=%q\n' "$UPSTREAM"
		printf 'AIGW_SIM_URL=%q\n' "$([ "$USE_SIM" = 1 ] && printf 'http://127.0.0.1:%s' "$SIM_PORT")"
	} >"$new"
	install_if_changed "$new" "$STACK_ENV" 0644 || true
}

# stackenv_get KEY: a value from DIR/stack.env (as written above); empty if none.
stackenv_get() {
	[ -r "$STACK_ENV" ] || return 0
	(
		set +u
		# shellcheck disable=SC1090
		. "$STACK_ENV" >/dev/null 2>&1
		eval "printf '%s' \"\${$1:-}\""
	)
}

# conf_value KEY DEFAULT: a key's value in aigw.conf (the last line giving
# it, comments cut), else DEFAULT.
conf_value() {
	local v=""
	[ -r "$CONF" ] && v=$(sed -nE "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*([^#]*[^#[:space:]]).*/\1/p" "$CONF" | tail -n 1)
	printf '%s\n' "${v:-$2}"
}
