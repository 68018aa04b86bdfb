"""What a process sees from an env file, by the rules of the loader that starts it.

``seen_by(text, loader)`` is the environment a service gets from an env file's ``text`` when
``loader`` reads it — not what rollbook's own parser thinks the file says. Each loader is a port of
its real source, cited at each rule (read from the source, not from documentation):

``systemd``
    ``EnvironmentFile=`` of systemd 252 (Debian bookworm): ``src/basic/env-file.c``
    ``parse_env_file_internal`` + ``load_env_file``/``load_env_file_push``, then
    ``src/core/execute.c`` ``exec_context_load_environment``, which passes the result through
    ``strv_env_clean_with_callback`` (``src/basic/env-util.c``): assignments whose name is not
    ``[A-Za-z_][A-Za-z0-9_]*`` are dropped ("Ignoring invalid environment assignment"). Read in
    redhat-plumbers/systemd-rhel9 (meson.build ``version : '252'``; env-file.c last changed there
    2022-08-09, before v252's release). No expansion of ``$VAR`` (that is ``merge_env_file``, which
    ``EnvironmentFile=`` does not use).
``compose-v1``
    docker-compose 1.29.2 ``env_file``: ``compose/config/environment.py`` ``env_vars_from_file``
    calls ``dotenv.dotenv_values(path, encoding='utf-8-sig', interpolate=True)``; Debian bookworm's
    python3-dotenv is 0.21.0, whose ``dotenv/parser.py`` is ported here (same regular expressions,
    same engine) with ``dotenv/main.py`` ``resolve_variables`` and ``dotenv/variables.py``.
    ``compose/config/config.py`` ``resolve_env_var`` fills a key without ``=`` from compose's own
    environment, and ``compose/service.py`` ``format_environment`` sends a still-valueless key as a bare
    ``KEY``, which the engine (moby ``ReplaceOrAppendEnvValues``: "Values w/o = means they want this
    env to be removed/unset") leaves out of the process.
``compose-v2``
    docker compose v2's ``env_file`` through compose-spec/compose-go v2.13.0: ``dotenv/parser.go``,
    ``dotenv/godotenv.go`` (``parseWithLookup``: UTF-8 BOM trimmed; ``expandVariables``), the lookup
    order of ``types/project.go`` ``WithServicesEnvironmentResolved`` (compose's own environment
    first, then the file's earlier keys) and ``template/template.go`` (``$VAR``, ``${VAR}``,
    ``${VAR:-d}`` …). A parse error refuses the whole file: compose creates no container
    (``LoaderRefuses``).

``environ`` is the loader's own environment, which compose v1/v2 consult for ``${VAR}`` and for a
key written without ``=`` (systemd never does); by default it is empty: nothing is inherited.
The result holds only the variables the file gives the process (the loader's own variables, e.g.
systemd's ``INVOCATION_ID`` or an image's ``PATH``, are not part of it).
"""

import codecs
import re
from collections.abc import Mapping

LOADERS = ("systemd", "compose-v1", "compose-v2")


class LoaderRefuses(ValueError):
    """The loader rejects the whole file: the service does not start with it (compose v2's parse errors)."""


def seen_by(text: str, loader: str, *, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a process gets from an env file's ``text`` when ``loader`` starts it."""
    environ = dict(environ or {})
    if loader == "systemd":
        return _systemd(text)
    if loader == "compose-v1":
        return _compose_v1(text, environ)
    if loader == "compose-v2":
        return _compose_v2(text, environ)
    raise ValueError(f"unknown loader {loader!r}: one of {', '.join(LOADERS)}")


# --- systemd 252: src/basic/env-file.c parse_env_file_internal -------------------------------------

_WHITESPACE = " \t\n\r"  # src/basic/string-util.h WHITESPACE
_NEWLINE = "\n\r"  # string-util.h NEWLINE: a lone CR ends a line too, so CRLF is just two line ends
_COMMENTS = "#;"  # string-util.h COMMENTS: only where a key could start (state PRE_KEY)
_SHELL_NEED_ESCAPE = "\"\\`$"  # src/basic/escape.h: the only characters a backslash escapes in "…"
_SYSTEMD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # env-util.c env_name_is_valid_n (bash's set)


def _systemd(text: str) -> dict[str, str]:
    pairs: list[tuple[str, str]] = []
    key: list[str] = []
    value: list[str] = []  # a NULL value in C (KEY=, KEY="") is pushed as the empty string
    last_key_ws = last_value_ws = None  # SIZE_MAX in C
    state = "PRE_KEY"

    def push():
        # load_env_file_push: strjoin(key, "=", value)
        k = "".join(key[:last_key_ws] if last_key_ws is not None else key)
        v = value
        if state == "VALUE" and last_value_ws is not None:  # chomp trailing whitespace (unquoted only)
            v = v[:last_value_ws]
        pairs.append((k, "".join(v)))

    for c in text:  # the C loop stops at a NUL byte; a str from a text file has none
        if state == "PRE_KEY":
            if c in _COMMENTS:
                state = "COMMENT"
            elif c not in _WHITESPACE:  # leading whitespace of a line is skipped
                state, last_key_ws, key = "KEY", None, [c]
        elif state == "KEY":
            if c in _NEWLINE:  # a line without "=" is dropped
                state, key = "PRE_KEY", []
            elif c == "=":
                state, value, last_value_ws = "PRE_VALUE", [], None
            else:  # whitespace inside a key is kept ("export FOO" is the key), trailing is stripped
                if c not in _WHITESPACE:
                    last_key_ws = None
                elif last_key_ws is None:
                    last_key_ws = len(key)
                key.append(c)
        elif state == "PRE_VALUE":
            if c in _NEWLINE:
                push()
                state, key, value = "PRE_KEY", [], []
            elif c == "'":
                state = "SINGLE_QUOTE_VALUE"
            elif c == '"':
                state = "DOUBLE_QUOTE_VALUE"
            elif c == "\\":
                state = "VALUE_ESCAPE"
            elif c not in _WHITESPACE:  # whitespace after "=" (and between quoted parts) is skipped
                state = "VALUE"
                value.append(c)
        elif state == "VALUE":  # unquoted: quotes and "#" are literal here; no inline comments
            if c in _NEWLINE:
                push()
                state, key, value = "PRE_KEY", [], []
            elif c == "\\":
                state, last_value_ws = "VALUE_ESCAPE", None
            else:
                if c not in _WHITESPACE:
                    last_value_ws = None
                elif last_value_ws is None:
                    last_value_ws = len(value)
                value.append(c)
        elif state == "VALUE_ESCAPE":  # backslash-anything is that thing; backslash-newline is eaten
            state = "VALUE"
            if c not in _NEWLINE:
                value.append(c)
        elif state == "SINGLE_QUOTE_VALUE":  # no escapes at all inside '…'; may span lines
            if c == "'":
                state = "PRE_VALUE"
            else:
                value.append(c)
        elif state == "DOUBLE_QUOTE_VALUE":  # may span lines (CR kept)
            if c == '"':
                state = "PRE_VALUE"
            elif c == "\\":
                state = "DOUBLE_QUOTE_VALUE_ESCAPE"
            else:
                value.append(c)
        elif state == "DOUBLE_QUOTE_VALUE_ESCAPE":
            state = "DOUBLE_QUOTE_VALUE"
            if c in _SHELL_NEED_ESCAPE:
                value.append(c)
            elif c != "\n":  # any other escape keeps its backslash, like the shell
                value += ["\\", c]
        elif state == "COMMENT":
            if c == "\\":
                state = "COMMENT_ESCAPE"
            elif c in _NEWLINE:
                state = "PRE_KEY"
        elif state == "COMMENT_ESCAPE":
            # v252: back to COMMENT whatever c is, so a comment ending in "\" swallows the next line
            # (v254 changed this: a newline here ends the comment)
            state = "COMMENT"

    if state in ("PRE_VALUE", "VALUE", "VALUE_ESCAPE", "SINGLE_QUOTE_VALUE", "DOUBLE_QUOTE_VALUE",
                 "DOUBLE_QUOTE_VALUE_ESCAPE"):
        push()  # end of file: the last value, even inside an unterminated quote

    seen: dict[str, str] = {}
    for k, v in pairs:
        # strv_env_replace_consume: a later assignment replaces an earlier one;
        # strv_env_clean_with_callback: an invalid name is dropped with an error in the journal
        if _SYSTEMD_NAME.fullmatch(k):
            seen[k] = v
    return seen


# --- docker-compose 1.29.2 + python-dotenv 0.21.0 ---------------------------------------------------
# dotenv/parser.py 0.21.0, verbatim regular expressions (Python's re, as python-dotenv uses)

def _rx(pattern: str, flags: int = 0) -> re.Pattern:
    return re.compile(pattern, re.UNICODE | flags)


_multiline_whitespace = _rx(r"\s*", re.MULTILINE)
_whitespace = _rx(r"[^\S\r\n]*")
_export = _rx(r"(?:export[^\S\r\n]+)?")
_single_quoted_key = _rx(r"'([^']+)'")
_unquoted_key = _rx(r"([^=\#\s]+)")
_equal_sign = _rx(r"(=[^\S\r\n]*)")
_single_quoted_value = _rx(r"'((?:\\'|[^'])*)'")
_double_quoted_value = _rx(r'"((?:\\"|[^"])*)"')
_unquoted_value = _rx(r"([^\r\n]*)")
_comment = _rx(r"(?:[^\S\r\n]*#[^\r\n]*)?")
_end_of_line = _rx(r"[^\S\r\n]*(?:\r\n|\n|\r|$)")
_rest_of_line = _rx(r"[^\r\n]*(?:\r|\n|\r\n)?")
_double_quote_escapes = _rx(r"\\[\\'\"abfnrtv]")
_single_quote_escapes = _rx(r"\\[\\']")
_posix_variable = re.compile(r"\$\{(?P<name>[^\}:]*)(?::-(?P<default>[^\}]*))?\}")  # dotenv/variables.py


class _NoMatch(Exception):
    pass


def _dotenv_bindings(text: str):
    """parser.py parse_stream: (key, value) per statement; value None when the line has no "=".
    A statement that does not parse is skipped to the end of its line (a warning, not an error)."""
    pos = 0

    def read(regex):
        nonlocal pos
        match = regex.match(text, pos)
        if match is None:
            raise _NoMatch
        pos = match.end()
        return match.groups()

    def unescape(regex, value):
        return regex.sub(lambda m: codecs.decode(m.group(0), "unicode-escape"), value)

    while pos < len(text):
        try:
            read(_multiline_whitespace)
            if pos >= len(text):
                return
            read(_export)  # "export " (with a space or tab) is dropped before the key
            char = text[pos:pos + 1]
            if char == "#":
                key = None  # a comment line
            elif char == "'":
                (key,) = read(_single_quoted_key)
            else:
                (key,) = read(_unquoted_key)  # any run of chars but "=", "#" and whitespace
            read(_whitespace)
            if text[pos:pos + 1] == "=":
                read(_equal_sign)
                char = text[pos:pos + 1]
                if char == "'":
                    value = unescape(_single_quote_escapes, read(_single_quoted_value)[0])
                elif char == '"':
                    value = unescape(_double_quote_escapes, read(_double_quoted_value)[0])
                elif char in ("", "\n", "\r"):
                    value = ""
                else:  # parse_unquoted_value: " #…" (whitespace before "#") is a comment; rstrip
                    value = re.sub(r"\s+#.*", "", read(_unquoted_value)[0]).rstrip()
            else:
                value = None
            read(_comment)
            read(_end_of_line)  # anything else after a quoted value makes the statement an error
            if key is not None:
                yield key, value
        except _NoMatch:
            read(_rest_of_line)


def _compose_v1(text: str, environ: dict[str, str]) -> dict[str, str]:
    # open(..., encoding='utf-8-sig'): the BOM goes, and universal newlines turn CRLF and CR into LF
    # before python-dotenv sees the text (so a quoted value spanning lines holds "\n", never "\r\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    values: dict[str, str | None] = {}
    for key, value in _dotenv_bindings(text):
        if value is not None:
            # main.py resolve_variables (interpolate=True, override=True): ${NAME} and ${NAME:-default}
            # (default only when NAME is absent), from compose's environment overridden by the
            # file's earlier keys; an unknown NAME is "". Single-quoted values too; $NAME is literal.
            env = {**environ, **values}

            def variable(match, env=env):
                default = match.group("default") if match.group("default") is not None else ""
                found = env.get(match.group("name"), default)
                return found if found is not None else ""

            value = _posix_variable.sub(variable, value)
        values[key] = value  # a dict: the last assignment of a key wins
    seen = {}
    for key, value in values.items():
        if value is None:  # config.py resolve_env_var: from compose's environment, else unset
            value = environ.get(key)
        if value is not None:
            seen[key] = value
    return seen


# --- docker compose v2: compose-spec/compose-go v2.13.0 dotenv + template -------------------------

def _go_is_space(c: str) -> bool:  # unicode.IsSpace
    if c <= "\u00ff":
        return c in "\t\n\v\f\r \x85\xa0"
    return c.isspace()


def _go_rstrip(text: str) -> str:
    while text and _go_is_space(text[-1]):
        text = text[:-1]
    return text


def _parser_is_space(c: str) -> bool:  # parser.go isSpace: a space but not a line break
    return c in "\t\v\f\r \x85\xa0"


_EXPORT = re.compile(r"export[\t\n\f\r ]+")  # parser.go exportRegex `^export\s+` (RE2 \s)
_ESCAPE_SEQ = re.compile(r"(\\(?:[abcfnrtv$\"\\]|0[0-9]{0,3}))")  # parser.go escapeSeqRegex
_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
               '"': '"'}
# template.go DefaultPattern (Go RE2 and Python re are both leftmost-first here)
_TEMPLATE = re.compile(r"\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|"
                       r"{(?:(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*))?)}|(?P<invalid>)))")


def _expand_escapes(value: str) -> str:
    def one(match):
        text = match.group(0)
        if text == "\\$":
            return "$$"  # left for the template as an escaped "$"
        if text.startswith("\\0"):
            text = "\\" + text[2:]  # `\0123` -> `\123`, an octal escape
            if re.fullmatch(r"\\[0-7]{3}", text) and int(text[1:], 8) <= 0xFF:
                return chr(int(text[1:], 8))
            return text  # strconv.UnquoteChar fails: the (rewritten) text stays
        return _GO_ESCAPES.get(text[1], text)  # `\c` is matched but not a Go escape: it stays

    return _ESCAPE_SEQ.sub(one, value)


def _substitute(template: str, lookup) -> str:
    """template.go Substitute with DefaultReplacementFunc; an error refuses the file."""
    error: list[Exception] = []

    def replace(match):
        substring = match.group(0)
        closing = _first_brace_closing(substring)
        rest = ""
        if closing > -1:
            substring, rest = substring[:closing + 1], substring[closing + 1:]
        groups = _TEMPLATE.match(substring)  # FindStringSubmatch on the cut substring
        if groups.group("escaped"):
            return "$"
        substitution, braced = groups.group("named"), False
        if not substitution:
            substitution, braced = groups.group("braced"), True
        if not substitution:
            error.append(LoaderRefuses(f"Invalid template: {template!r}"))
            return ""
        if braced:
            applied = _braced(substitution, lookup, match.group(0))
            if applied is not None:
                return applied + _substitute(rest, lookup)
        value, _found = lookup(substitution)  # unset: "" (compose warns "The … variable is not set")
        return value

    result = _TEMPLATE.sub(replace, template)
    if error:
        raise error[0]
    return result


def _first_brace_closing(text: str) -> int:
    depth, i = 0, 0
    while i < len(text):
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        if text[i] == "{":
            depth += 1
            i += 1
        i += 1
    return -1


def _braced(substitution: str, lookup, whole: str) -> str | None:
    # getSubstitutionFunctionForTemplate: the operator found first in the whole match wins
    operators = [":?", "?", ":-", "-", ":+", "+"]
    found = sorted((whole.find(op), n, op) for n, op in enumerate(operators) if whole.find(op) >= 0)
    op = found[0][2] if found else operators[0]
    if op not in substitution:
        return None
    name, arg = substitution.split(op, 1)
    value, ok = lookup(name)
    if op in (":-", "-"):
        return _substitute(arg, lookup) if not ok or (op == ":-" and value == "") else value
    if op in (":+", "+"):
        return _substitute(arg, lookup) if ok and (op == "+" or value != "") else value
    if not ok or (op == ":?" and value == ""):  # ${NAME:?message}: compose refuses
        raise LoaderRefuses(f"required variable {name} is missing a value: {_substitute(arg, lookup)}")
    return value


def _compose_v2(text: str, environ: dict[str, str]) -> dict[str, str]:
    src = text[1:] if text.startswith("\ufeff") else text  # godotenv.go: UTF-8 BOM trimmed
    out: dict[str, str] = {}
    line = 1

    def lookup(name):  # project.go: compose's environment first, then the file's earlier keys
        if name in environ:
            return environ[name], True
        if name in out:
            return out[name], True
        return "", False

    def expand(value):
        return _substitute(value, lookup)

    while True:
        # getStatementStart: skip whitespace (newlines too) and whole "#" comment lines
        while True:
            start = next((i for i, c in enumerate(src) if not _go_is_space(c)), -1)
            line += src[:start if start >= 0 else len(src)].count("\n")
            if start == -1:
                return {k: v for k, v in out.items() if k}
            src = src[start:]
            if src[0] != "#":
                break
            newline = src.find("\n")
            if newline == -1:
                return {k: v for k, v in out.items() if k}
            src = src[newline:]

        # locateKeyName: "export" + whitespace dropped; the key ends at "=", ":" (YAML style) or a
        # newline (no value: inherited from compose's environment, if it has the name)
        if _EXPORT.match(src):
            src = src[len("export"):].lstrip("\t\v\f\r \x85\xa0")
        key, offset, inherited = "", 0, False
        for i, c in enumerate(src):
            if _parser_is_space(c):
                continue
            if c in "=:\n":
                key, offset, inherited = src[:i], i + 1, c == "\n"
                break
            if c in "_.-[]" or c.isalpha() or c.isnumeric():  # unicode.IsLetter / IsNumber
                continue
            raise LoaderRefuses(f"line {line}: unexpected character {c!r} in variable name "
                                f"{src.split(chr(10))[0]!r}")
        key = _go_rstrip(key)  # strings.TrimRightFunc(key, unicode.IsSpace)
        src = src[offset:].lstrip("\t\v\f\r \x85\xa0")
        if " " in key:
            raise LoaderRefuses(f"line {line}: key cannot contain a space")
        if inherited:
            line += 1
            if key in environ:  # lookupFn: compose's environment only
                out[key] = environ[key]
            continue

        # extractVarValue
        if not src or src[0] not in "'\"":  # unquoted: to the end of the line
            value, _, src = src.partition("\n")
            line += 1
            value = _go_rstrip(value.split(" #", 1)[0])  # only " #" (space, not tab) starts a comment;
            # TrimRightFunc(unicode.IsSpace) also takes the CR of a CRLF line end
            out[key] = expand(value)
            continue
        quote, chars, escape = src[0], [], False
        for i in range(1, len(src)):
            c = src[i]
            line += c == "\n"
            if c != quote:
                if not escape and c == "\\":
                    escape = True
                    continue
                if escape:  # the backslash stays (for "…" expandEscapes reads it next)
                    escape = False
                    chars.append("\\")
                chars.append(c)
                continue
            if escape:  # \" in "…", \' in '…': the quote itself
                escape = False
                chars.append(c)
                continue
            value = "".join(chars)
            if quote == '"':  # escapes, then variables; '…' is taken as it is
                value = expand(_expand_escapes(value))
            out[key] = value
            src = src[i + 1:]  # the rest of the line is parsed as a new statement
            break
        else:
            raise LoaderRefuses(f"line {line}: unterminated quoted value {src.split(chr(10))[0]}")
