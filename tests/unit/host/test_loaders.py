"""What a process sees from an env file, per loader: one table, each expectation from the loader's source.

Sources (see rollbook/host/loaders.py): systemd 252 ``src/basic/env-file.c`` (parse_env_file_internal),
``src/basic/env-util.c`` + ``src/core/execute.c`` (invalid names dropped); docker-compose 1.29.2
``compose/config/{environment,config}.py`` + python-dotenv 0.21.0 ``dotenv/parser.py``/``main.py``/
``variables.py``; compose-spec/compose-go v2.13.0 ``dotenv/parser.go``, ``dotenv/godotenv.go``,
``template/template.go``, ``types/project.go``.
"""

import pytest

from rollbook.host.loaders import LOADERS, LoaderRefuses, seen_by

REFUSED = LoaderRefuses  # compose v2 rejects the whole file: no container is created

# (id, env file text, loader's own environment, {loader: what the process sees})
CASES = [
    ("export prefix", "export SENTRY_DSN=https://k@sentry/1\nPLAIN=1\n", {}, {
        # env-file.c KEY state keeps inner whitespace: the key is "export SENTRY_DSN", which
        # env_name_is_valid rejects, so strv_env_clean_with_callback drops it (the voice-v2 issue)
        "systemd": {"PLAIN": "1"},
        # parser.py _export = (?:export[^\S\r\n]+)? is read before the key
        "compose-v1": {"SENTRY_DSN": "https://k@sentry/1", "PLAIN": "1"},
        # parser.go locateKeyName: exportRegex ^export\s+ is trimmed
        "compose-v2": {"SENTRY_DSN": "https://k@sentry/1", "PLAIN": "1"},
    }),
    ("single quotes take no escapes", "A='x \"y\" $B \\n \\\\'\n", {}, {
        # SINGLE_QUOTE_VALUE appends every char up to the next '
        "systemd": {"A": 'x "y" $B \\n \\\\'},
        # _single_quote_escapes = \\[\\'] : \\ becomes \, \n stays
        "compose-v1": {"A": 'x "y" $B \\n \\'},
        # extractVarValue: an escaped non-quote char keeps its backslash; '…' is not unescaped
        "compose-v2": {"A": 'x "y" $B \\n \\\\'},
    }),
    ("a backslash before a closing single quote", "A='x\\\\'\nB=1\nC='y'\n", {}, {
        # SINGLE_QUOTE_VALUE: a backslash is an ordinary char, the next ' closes
        "systemd": {"A": "x\\\\", "B": "1", "C": "y"},
        # _single_quoted_value '((?:\\'|[^'])*)' : the regex takes \' as an escaped quote and runs on to
        # the next ' (C's), then finds "y'" where the line should end: one error binding eats A, B, C
        "compose-v1": {},
        # extractVarValue: the first backslash escapes the second, which is kept; ' then closes
        "compose-v2": {"A": "x\\\\", "B": "1", "C": "y"},
    }),
    ("escapes inside double quotes", 'A="t\\tn\\n q\\" d\\$ b\\\\ x\\x"\n', {}, {
        # DOUBLE_QUOTE_VALUE_ESCAPE: only SHELL_NEED_ESCAPE ("\`$) is unescaped, others keep the "\"
        "systemd": {"A": 't\\tn\\n q" d$ b\\ x\\x'},
        # _double_quote_escapes = \\[\\'\"abfnrtv] decoded with unicode-escape: \$ and \x stay
        "compose-v1": {"A": 't\tn\n q" d\\$ b\\ x\\x'},
        # escapeSeqRegex [abcfnrtv$"\\]: \t \n via strconv.UnquoteChar, \$ -> $$ -> "$"; \x stays
        "compose-v2": {"A": 't\tn\n q" d$ b\\ x\\x'},
    }),
    ("inline comments", 'A=value # comment\nB=value#not\nC="q" # comment\nD=tab\t# c\n', {}, {
        # VALUE state has no comment rule; after a closing quote PRE_VALUE skips blanks and "#…"
        # starts an unquoted VALUE that is appended
        "systemd": {"A": "value # comment", "B": "value#not", "C": "q# comment", "D": "tab\t# c"},
        # parse_unquoted_value: re.sub(r"\s+#.*", "") (any whitespace); _comment after a quoted value
        "compose-v1": {"A": "value", "B": "value#not", "C": "q", "D": "tab"},
        # extractVarValue: strings.Cut(value, " #") — a space, not a tab; after a quote the rest of
        # the line is a new statement and getStatementStart skips "#…"
        "compose-v2": {"A": "value", "B": "value#not", "C": "q", "D": "tab\t# c"},
    }),
    ("empty values", "A=\nB=\"\"\nC=''\nD=   \n", {}, {
        # PRE_VALUE newline pushes a NULL value: strjoin(key, "=", NULL) is "KEY="
        "systemd": {"A": "", "B": "", "C": "", "D": ""},
        # parse_value: "" at end of line; quoted regexes match empty
        "compose-v1": {"A": "", "B": "", "C": "", "D": ""},
        # unquoted value cut at "\n" is ""; quoted terminator found at once
        "compose-v2": {"A": "", "B": "", "C": "", "D": ""},
    }),
    ("a line without = (inherited) when the loader's environment has it", "LONELY\nA=1\n",
     {"LONELY": "from-shell"}, {
        # KEY state: a newline before "=" drops the key; systemd never inherits
        "systemd": {"A": "1"},
        # value None -> config.py resolve_env_var takes compose's environment
        "compose-v1": {"LONELY": "from-shell", "A": "1"},
        # locateKeyName: key ended by "\n" is inherited -> lookupFn (compose's environment)
        "compose-v2": {"LONELY": "from-shell", "A": "1"},
    }),
    ("a line without = when the loader's environment lacks it", "LONELY\nA=1\n", {}, {
        "systemd": {"A": "1"},
        # service.py format_environment sends a bare "LONELY"; moby ReplaceOrAppendEnvValues unsets it
        "compose-v1": {"A": "1"},
        # lookupFn not ok: the key is not set
        "compose-v2": {"A": "1"},
    }),
    ("CRLF line ends", 'A=1\r\nB="x"\r\nC="l1\r\nl2"\r\nD=two words \r\n', {}, {
        # NEWLINE is "\n\r": CR ends the value, LF is then whitespace in PRE_KEY; inside quotes CR stays
        "systemd": {"A": "1", "B": "x", "C": "l1\r\nl2", "D": "two words"},
        # open(encoding='utf-8-sig') has universal newlines: CRLF is LF before parsing
        "compose-v1": {"A": "1", "B": "x", "C": "l1\nl2", "D": "two words"},
        # unquoted: TrimRightFunc(unicode.IsSpace) drops CR; quoted bytes are kept as they are
        "compose-v2": {"A": "1", "B": "x", "C": "l1\r\nl2", "D": "two words"},
    }),
    ("duplicate keys: the last wins", "A=1\nB=${A}\nA=2\n", {}, {
        # load_env_file_push: strv_env_replace_consume replaces the earlier A; no expansion at all
        "systemd": {"A": "2", "B": "${A}"},
        # resolve_variables: a dict, later assignment wins; ${A} resolved with the values so far
        "compose-v1": {"A": "2", "B": "1"},
        # out[key] = value overwrites; expandVariables reads the map as parsed so far
        "compose-v2": {"A": "2", "B": "1"},
    }),
    ("full-line comments", "# top\n   # indented\nA=1\n#B=2\n", {}, {
        # PRE_KEY: a char of COMMENTS ("#;") after leading whitespace starts COMMENT
        "systemd": {"A": "1"},
        # parse_key: peek "#" -> no key; _comment/_end_of_line consume the line
        "compose-v1": {"A": "1"},
        # getStatementStart skips whitespace, then a "#" section up to "\n"
        "compose-v2": {"A": "1"},
    }),
    ("a comment ending in a backslash", "# note \\\nB=1\nC=2\n", {}, {
        # v252 COMMENT_ESCAPE returns to COMMENT whatever the char: the newline is swallowed and
        # "B=1" is still comment (v254 changed this)
        "systemd": {"C": "2"},
        "compose-v1": {"B": "1", "C": "2"},
        "compose-v2": {"B": "1", "C": "2"},
    }),
    ("a semicolon comment", "; semi colon\nA=1\n", {}, {
        # COMMENTS is "#;"
        "systemd": {"A": "1"},
        # key ";" then "semi" where _end_of_line is expected: an error binding, the line is skipped
        "compose-v1": {"A": "1"},
        # locateKeyName: ";" is not [letters digits _.-[]] -> error, the file is refused
        "compose-v2": REFUSED,
    }),
    ("whitespace around key and value", '  A  =  spaced value  \nB="  kept  "\n\tC\t=\tx\n', {}, {
        # PRE_KEY skips blanks, last_key_whitespace strips the key's tail, PRE_VALUE skips blanks,
        # last_value_whitespace chomps an unquoted tail; quoted blanks stay
        "systemd": {"A": "spaced value", "B": "  kept  ", "C": "x"},
        # _multiline_whitespace, _whitespace, _equal_sign; unquoted value .rstrip()
        "compose-v1": {"A": "spaced value", "B": "  kept  ", "C": "x"},
        # indexOfNonSpaceChar; key TrimRightFunc; TrimLeftFunc(isSpace) after "="; value TrimRightFunc
        "compose-v2": {"A": "spaced value", "B": "  kept  ", "C": "x"},
    }),
    ("key names systemd rejects", "1ABC=x\nFOO-BAR=y\nFOO.BAR=z\nfoo_ok=w\n", {}, {
        # env_name_is_valid_n: [A-Za-z0-9_], not starting with a digit
        "systemd": {"foo_ok": "w"},
        # _unquoted_key = [^=\#\s]+ ; the engine does not check names
        "compose-v1": {"1ABC": "x", "FOO-BAR": "y", "FOO.BAR": "z", "foo_ok": "w"},
        # locateKeyName accepts letters, numbers and _ . - [ ] (dashes again since 2024-09-17);
        # startsWithDigitRegex only applies in ReadWithLookup, not to env_file
        "compose-v2": {"1ABC": "x", "FOO-BAR": "y", "FOO.BAR": "z", "foo_ok": "w"},
    }),
    ("a key compose v2 refuses", "FOO@BAR=1\nA=2\n", {}, {
        "systemd": {"A": "2"},
        "compose-v1": {"FOO@BAR": "1", "A": "2"},
        # locateKeyName: unexpected character "@" in variable name
        "compose-v2": REFUSED,
    }),
    ("a space inside a key", "FOO BAR=1\nA=2\n", {}, {
        # the key "FOO BAR" is not a valid name
        "systemd": {"A": "2"},
        # key "FOO", then "BAR=1" where "=" is expected: error binding, line skipped
        "compose-v1": {"A": "2"},
        # parse: strings.Contains(key, " ") -> "key cannot contain a space"
        "compose-v2": REFUSED,
    }),
    ("multi-line quoted values", "A=\"l1\nl2\"\nB='l3\nl4'\nC=after\n", {}, {
        "systemd": {"A": "l1\nl2", "B": "l3\nl4", "C": "after"},
        # _double_quoted_value / _single_quoted_value: [^"] and [^'] match newlines
        "compose-v1": {"A": "l1\nl2", "B": "l3\nl4", "C": "after"},
        # extractVarValue scans to the terminating quote across lines
        "compose-v2": {"A": "l1\nl2", "B": "l3\nl4", "C": "after"},
    }),
    ("an unterminated quote", 'A="open\nB=2\n', {}, {
        # DOUBLE_QUOTE_VALUE runs to the end of the file, which pushes what it holds
        "systemd": {"A": "open\nB=2\n"},
        # _double_quoted_value finds no closing quote: error binding, line skipped
        "compose-v1": {"B": "2"},
        # "unterminated quoted value"
        "compose-v2": REFUSED,
    }),
    ("variables", "H=$HOME\nD=$$x\nE=${UNSET:-dflt}\nF=\"${HOME}/x\"\nG='${HOME}'\n", {"HOME": "/root"}, {
        # load_env_file: no expansion (merge_env_file, which expands, is not EnvironmentFile=)
        "systemd": {"H": "$HOME", "D": "$$x", "E": "${UNSET:-dflt}", "F": "${HOME}/x", "G": "${HOME}"},
        # variables.py: only ${NAME} and ${NAME:-default}, in every value (single-quoted too)
        "compose-v1": {"H": "$HOME", "D": "$$x", "E": "dflt", "F": "/root/x", "G": "/root"},
        # template.go: $NAME, $$ -> $, ${NAME:-d}; unquoted and "…" values, not '…'
        "compose-v2": {"H": "/root", "D": "$x", "E": "dflt", "F": "/root/x", "G": "${HOME}"},
    }),
    ("a required variable", "R=${REQ:?need it}\n", {}, {
        "systemd": {"R": "${REQ:?need it}"},
        # _posix_variable has no :? form: no match, the text stays
        "compose-v1": {"R": "${REQ:?need it}"},
        # withRequired -> MissingRequiredError
        "compose-v2": REFUSED,
    }),
    ("a UTF-8 byte order mark", "\ufeffA=1\nB=2\n", {}, {
        # the BOM is part of the first key, which is then not a valid name
        "systemd": {"B": "2"},
        # encoding='utf-8-sig'
        "compose-v1": {"A": "1", "B": "2"},
        # parseWithLookup: bytes.TrimPrefix(data, utf8BOM)
        "compose-v2": {"A": "1", "B": "2"},
    }),
    ("text after a closing quote", 'A="x"y\nB="p" "q"\n', {}, {
        # back to PRE_VALUE after the quote: the following parts are appended, blanks between skipped
        "systemd": {"A": "xy", "B": "pq"},
        # _end_of_line expected after the quoted value: error bindings, both lines skipped
        "compose-v1": {},
        # the rest is a new statement: "y" is an inherited key (unset), `"q"` a bad key name
        "compose-v2": REFUSED,
    }),
    ("YAML-style key: value", "A: b\n", {}, {
        "systemd": {},  # no "=" on the line
        "compose-v1": {},  # key "A:" then "b" where "=" is expected: error binding
        "compose-v2": {"A": "b"},  # locateKeyName: ':' ends a key like '='
    }),
    ("backslashes in unquoted values", "A=a\\ b\\#c\nL=one\\\ntwo\n", {}, {
        # VALUE_ESCAPE: the escaped char is kept without its backslash; backslash-newline is eaten
        "systemd": {"A": "a b#c", "L": "onetwo"},
        # unquoted values are taken as they are; "two" is then a key without "=" (unset)
        "compose-v1": {"A": "a\\ b\\#c", "L": "one\\"},
        "compose-v2": {"A": "a\\ b\\#c", "L": "one\\"},
    }),
]


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("text, environ, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_loader_gives_the_process_what_its_source_says(text, environ, expected, loader):
    want = expected[loader]
    if want is REFUSED:
        with pytest.raises(LoaderRefuses):
            seen_by(text, loader, environ=environ)
    else:
        assert seen_by(text, loader, environ=environ) == want


def test_every_case_says_what_every_loader_gives():
    assert all(set(case[3]) == set(LOADERS) for case in CASES)


def test_an_unknown_loader_is_an_error():
    with pytest.raises(ValueError, match="unknown loader 'upstart'"):
        seen_by("A=1\n", "upstart")


def test_a_value_holding_only_a_variable_the_loader_lacks_is_empty_under_compose():
    # compose v1 (variables.py Variable.resolve: default "") and v2 (unset mapping -> "" with a warning)
    assert seen_by("A=${NOPE}\n", "compose-v1") == {"A": ""}
    assert seen_by("A=${NOPE}\n", "compose-v2") == {"A": ""}
