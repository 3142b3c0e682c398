"""The one error type users see: a single line naming what is wrong and what to do; and the lines several places
write alike (a name that is not one of the choices, a file that does not parse)."""


class InfillUsageError(Exception):
    """Bad input (option, file, name). The plugin prints the message as one line and exits with code 2."""


def choose_from(what: str, name, choices, hint: str = "") -> str:
    """The line for a name that is not one of ``choices``: "unknown WHAT 'NAME'HINT: choose from A, B, C"."""
    return f"unknown {what} {name!r}{hint}: choose from {', '.join(choices)}"


def parse_document(parse, text: str, syntax_error: type[ValueError], *, invalid, too_deep: str, unreadable):
    """``parse(text)`` (json.loads, tomllib.loads) with every way it can fail as one InfillUsageError line:
    ``invalid(exc)`` for a syntax error, ``too_deep`` for a nesting deeper than the parser recurses (RecursionError),
    ``unreadable(exc)`` for any other ValueError (e.g. an integer of more than 4300 digits)."""
    try:
        return parse(text)
    except syntax_error as exc:
        raise InfillUsageError(invalid(exc)) from None
    except RecursionError:
        raise InfillUsageError(too_deep) from None
    except ValueError as exc:
        raise InfillUsageError(unreadable(exc)) from None
