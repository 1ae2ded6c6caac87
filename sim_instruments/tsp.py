"""A small interpreter for the subset of TSP (the Lua of Keithley's Test Script Processor
instruments) that remote-control programs send line by line.

Understood: statements separated by blanks, newlines or ``;``; assignments to
attributes (``smua.source.levelv = 1``), calls (``smua.trigger.initiate()``),
``print(...)`` and ``printbuffer(first, last, buffer.readings)``; expressions made of
numbers, strings, ``true``/``false``/``nil``, attribute reads, calls, table constructors
``{1, 2, 3}``, unary minus and ``+ - * / ^`` with Lua's precedence; ``--`` comments.
Names are resolved by a *host* (the instrument twin) as dotted paths, e.g.
``trigger.timer[1].delay``. What the subset does not cover raises ``TspError`` with the
instrument's codes: -285 (syntax, nothing of the message runs) or -286 (runtime, the
message stops there), like the firmware's Lua does.
"""

import math
import re

SYNTAX, RUNTIME = -285, -286

_TOKEN = re.compile(r"""\s*(?:
      (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_]\w*)
    | (?P<string>"[^"\\\n]*"|'[^'\\\n]*')
    | (?P<op>[-+*/^(){}\[\],.=;])
    )""", re.VERBOSE)
_KEYWORDS = {"true": True, "false": False, "nil": None}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


class TspError(Exception):
    """An error the instrument puts in its error queue."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def syntax_error(near: str) -> TspError:
    return TspError(SYNTAX, f"TSP Syntax error at line 1: unexpected symbol near `{near}'")


def runtime_error(what: str) -> TspError:
    return TspError(RUNTIME, f"TSP Runtime error at line 1: {what}")


def tokenize(text: str) -> list[tuple[str, str]]:
    text = re.sub(r"--[^\n]*", "", text)
    tokens, at = [], 0
    while at < len(text):
        if not text[at:].strip():
            break
        m = _TOKEN.match(text, at)
        if m is None or m.end() == at:
            raise syntax_error(text[at:].strip()[:12])
        kind = m.lastgroup
        tokens.append((kind, m[kind]))
        at = m.end()
    return tokens


class _Parser:
    """Recursive descent over the tokens; statements and expressions become tuples."""

    def __init__(self, tokens):
        self.tokens, self.at = tokens, 0

    def peek(self, value=None):
        if self.at >= len(self.tokens):
            return None
        kind, text = self.tokens[self.at]
        return text if value is None or text == value and kind == "op" else None

    def take(self, value=None):
        if value is not None and self.peek(value) is None:
            raise syntax_error(self.peek() or "<eof>")
        token = self.tokens[self.at] if self.at < len(self.tokens) else ("eof", "<eof>")
        self.at += 1
        return token

    def chunk(self):
        statements = []
        while self.peek() is not None:
            if self.peek(";"):
                self.take()
                continue
            statements.append(self.statement())
        return statements

    def statement(self):
        target = self.suffixed()
        if self.peek("="):
            if target[0] != "ref":
                raise syntax_error("=")
            self.take()
            return ("set", target[1], self.expression())
        if target[0] != "call":
            raise syntax_error(self.peek() or "<eof>")
        return target

    def suffixed(self):
        kind, text = self.take()
        if kind != "name" or text in _KEYWORDS:
            raise syntax_error(text)
        parts = [text]
        while True:
            if self.peek("."):
                self.take()
                kind, text = self.take()
                if kind != "name":
                    raise syntax_error(text)
                parts.append(text)
            elif self.peek("["):
                self.take()
                parts.append(self.expression())
                self.take("]")
            elif self.peek("("):
                self.take()
                args = []
                while not self.peek(")"):
                    args.append(self.expression())
                    if not self.peek(")"):
                        self.take(",")
                self.take(")")
                return ("call", parts, args)
            else:
                return ("ref", parts)

    def expression(self, level=0):
        left = self.unary()
        while (op := self.peek()) in _PRECEDENCE and self.tokens[self.at][0] == "op" \
                and _PRECEDENCE[op] > level:
            self.take()
            left = ("arith", op, left, self.expression(_PRECEDENCE[op]))
        return left

    def unary(self):
        if self.peek("-"):
            self.take()
            return ("arith", "-", ("value", 0.0), self.unary())
        base = self.primary()
        if self.peek("^"):
            self.take()
            return ("arith", "^", base, self.unary())
        return base

    def primary(self):
        kind, text = self.tokens[self.at] if self.at < len(self.tokens) else ("eof", "<eof>")
        if kind == "number":
            self.take()
            return ("value", float(text))
        if kind == "string":
            self.take()
            return ("value", text[1:-1])
        if kind == "name" and text in _KEYWORDS:
            self.take()
            return ("value", _KEYWORDS[text])
        if self.peek("{"):
            self.take()
            items = []
            while not self.peek("}"):
                items.append(self.expression())
                if not self.peek("}"):
                    self.take(",")
            self.take("}")
            return ("table", items)
        if self.peek("("):
            self.take()
            inner = self.expression()
            self.take(")")
            return inner
        if kind == "name":
            return self.suffixed()
        raise syntax_error(text)


def parse(text: str) -> list:
    """The statements of one message (raises ``TspError`` -285 on a syntax error)."""
    return _Parser(tokenize(text)).chunk()


def format_value(value) -> str:
    """How ``print`` shows a value (numbers with the default 6 significant digits)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:.5e}"
    if isinstance(value, (list, tuple)):
        return f"table: 0x{id(value) & 0xFFFFFF:06x}"
    return str(value)


class Interpreter:
    """Runs messages against a host providing ``read(path)``, ``write(path, value)``
    and ``call(path, args) -> tuple`` (all raising ``TspError``)."""

    def __init__(self, host):
        self.host = host

    def run(self, text: str) -> list[str]:
        """Execute one message; returns the lines it printed."""
        out = []
        for statement in parse(text):
            if statement[0] == "set":
                self.host.write(self.path(statement[1]), self.value(statement[2]))
            else:
                self.call(statement, out)
        return out

    def path(self, parts) -> str:
        text = parts[0]
        for part in parts[1:]:
            if isinstance(part, str):
                text += "." + part
            else:
                index = self.value(part)
                if not isinstance(index, float) or not index.is_integer():
                    raise runtime_error(f"bad index {format_value(index)} in {text}")
                text += f"[{int(index)}]"
        return text

    def values(self, node) -> tuple:
        """All values of an expression (a call may return several)."""
        kind = node[0]
        if kind == "value":
            return (node[1],)
        if kind == "table":
            return ([self.value(item) for item in node[1]],)
        if kind == "ref":
            return (self.host.read(self.path(node[1])),)
        if kind == "call":
            return self.call(node, None)
        _, op, left, right = node
        a, b = self.value(left), self.value(right)
        if not all(isinstance(x, float) and not isinstance(x, bool) for x in (a, b)):
            raise runtime_error("attempt to perform arithmetic on a non-number value")
        return (arithmetic(op, a, b),)

    def value(self, node):
        found = self.values(node)
        return found[0] if found else None

    def arguments(self, nodes) -> list:
        """Lua passes on every result of a call in last position."""
        args = [self.value(n) for n in nodes[:-1]]
        return args + list(self.values(nodes[-1])) if nodes else args

    def call(self, node, out) -> tuple:
        _, parts, arg_nodes = node
        name = self.path(parts)
        args = self.arguments(arg_nodes)
        if name == "print":
            line = "\t".join(format_value(a) for a in args)
            if out is None:
                raise runtime_error("print returns no value")
            out.append(line)
            return ()
        if name == "printbuffer":
            if out is None or len(args) < 3:
                raise runtime_error("bad argument to 'printbuffer'")
            out.append(printbuffer(*args[:3]))
            return ()
        return tuple(self.host.call(name, args))


def arithmetic(op: str, a: float, b: float) -> float:
    """Lua's number arithmetic (IEEE: x/0 is ±inf, 0/0 and (-8)^0.5 are NaN)."""
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        return math.pow(a, b)
    except ZeroDivisionError:
        return math.copysign(math.inf, a) if a else math.nan
    except OverflowError:
        return math.inf
    except ValueError:
        return math.nan


def printbuffer(first, last, readings) -> str:
    """``printbuffer(first, last, buffer.readings)``: the readings, comma separated."""
    if not isinstance(readings, list) or not all(isinstance(x, float) for x in (first, last)):
        raise runtime_error("bad argument to 'printbuffer'")
    if not 1 <= first <= last <= len(readings):
        raise runtime_error(f"printbuffer index out of range ({int(first)} to {int(last)}, "
                            f"{len(readings)} readings)")
    return ", ".join(format_value(x) for x in readings[int(first) - 1:int(last)])
