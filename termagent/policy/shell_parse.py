"""Bash text -> the simple commands it will run, with tree-sitter-bash.

Fail closed: whatever this module does not fully understand becomes a `Construct`, which the
engine turns into at least `ask`. A word whose value cannot be known before it runs (an
expansion, a substitution, an unquoted glob or brace) has `value=None`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

_PARSER = Parser(Language(tree_sitter_bash.language()))

# Construct kinds; the policy file sets a decision for each (see policy.schema.json).
PARSE_ERROR = "parse_error"
UNSUPPORTED = "unsupported"
DYNAMIC_COMMAND = "dynamic_command"
PATH_COMMAND = "path_command"
ENV_PREFIX = "env_prefix"
ASSIGNMENT = "assignment"
FUNCTION_DEFINITION = "function_definition"
WRITE_REDIRECT = "write_redirect"
HISTORY_EXPANSION = "history_expansion"
NETWORK_REDIRECT = "network_redirect"
HIDDEN_EVALUATION = "hidden_evaluation"

_STATEMENTS = frozenset(
    {
        "program",
        "list",
        "pipeline",
        "compound_statement",
        "subshell",
        "do_group",
        "negated_command",
        "if_statement",
        "elif_clause",
        "else_clause",
        "while_statement",
        "case_statement",
        "case_item",
        "for_statement",
        "c_style_for_statement",
        "redirected_statement",
        "command",
        "variable_assignment",
        "variable_assignments",
        "declaration_command",
        "unset_command",
        "function_definition",
        "test_command",
    }
)
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})
_WRITE_OPERATORS = frozenset({">", ">>", ">|", "&>", "&>>", "<>", ">&"})
_HARMLESS_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.,:+@%^=/~\[\]-]+")
_GLOB_OR_BRACE = re.compile(r"[*?\[]|\{.*(,|\.\.).*\}")
_ENVIRONMENT_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
# `!x` (not `! `, `!=`, `!(`) is history expansion in an interactive shell, even inside "...".
_HISTORY_BANG = re.compile(rb"![^\s=(]")
_SUBSTITUTION_OPENER = re.compile(rb"[$<>]\(|`")
_DOUBLE_QUOTE_ESCAPE = re.compile(r'\\([$`"\\\n])')
_WORD_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_BASE_CONSTANT = re.compile(r"\b\d+#[0-9A-Za-z@_]+|\b0[xX][0-9A-Fa-f]+")
_NOT_ONLY_NUMBERS = re.compile(r"[A-Za-z_$`\[\\'\"]")
_PLAIN_INDEX = re.compile(r"-?\d+|[@*]")
_MAY_EVALUATE = frozenset(
    {
        "arithmetic_expansion",
        "c_style_for_statement",
        "compound_statement",
        "subscript",
        "expansion",
        "test_command",
        "binary_expression",
        "unary_expression",
    }
)
_RUN_TIME_WORD = re.compile(r"[$`*?]")
_ARITHMETIC_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})


@dataclass(frozen=True)
class Word:
    text: str  # as written
    value: str | None  # after quote removal; None when only known at run time


@dataclass(frozen=True)
class Redirect:
    operator: str
    target: Word
    writes: bool


@dataclass(frozen=True)
class SimpleCommand:
    name: Word
    args: tuple[Word, ...]
    redirects: tuple[Redirect, ...]
    text: str

    @property
    def literal_name(self) -> str | None:
        return self.name.value

    @property
    def program(self) -> str | None:
        """The name rules match: `/sbin/mkfs.ext4` is `mkfs.ext4`."""
        name = self.name.value
        return None if name is None else name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Construct:
    kind: str
    detail: str


@dataclass
class ParsedLine:
    commands: list[SimpleCommand] = field(default_factory=list)
    constructs: list[Construct] = field(default_factory=list)
    defines: list[str] = field(default_factory=list)  # function and alias names this line defines


def parse(text: str) -> ParsedLine:
    source = text.encode("utf-8", "surrogatepass")
    tree = _PARSER.parse(source)
    walker = _Walker(source)
    if tree.root_node.has_error:
        walker.flag(PARSE_ERROR, "bash cannot parse this line as it stands")
    walker.statement(tree.root_node, ())
    walker.unquoted_checks(tree.root_node)
    return walker.result


class _Walker:
    def __init__(self, source: bytes) -> None:
        self.source = source
        self.result = ParsedLine()

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def flag(self, kind: str, detail: str) -> None:
        self.result.constructs.append(Construct(kind, detail))

    # --- statements -------------------------------------------------------------------

    def statement(self, node: Node, redirects: tuple[Redirect, ...]) -> None:
        kind = node.type
        if kind == "command":
            self.command(node, redirects, ())
        elif kind == "redirected_statement":
            self.redirected(node, redirects)
        elif kind in ("variable_assignment", "variable_assignments", "declaration_command", "unset_command"):
            self.flag(ASSIGNMENT, f"changes shell variables: {self.text(node)}")
            self.nested(node)
        elif kind == "function_definition":
            name = node.child_by_field_name("name")
            defined = self.text(name) if name is not None else self.text(node)[:30]
            self.result.defines.append(defined)
            self.flag(FUNCTION_DEFINITION, f"defines a function: {defined}")
            self.children(node, redirects)
        elif kind == "for_statement":
            variable = node.child_by_field_name("variable")
            if variable is not None and _ENVIRONMENT_NAME.fullmatch(self.text(variable)):
                self.flag(ASSIGNMENT, f"loop sets an environment-style variable: {self.text(variable)}")
            self.children(node, redirects)
        elif kind == "compound_statement" and node.child_count and node.children[0].type == "((":
            self.flag(ASSIGNMENT, f"an arithmetic command may change variables: {self.text(node)[:60]}")
            self.nested(node)
        elif kind in _STATEMENTS:
            self.children(node, redirects)
        elif kind in ("comment", "ERROR"):
            pass
        else:
            self.flag(UNSUPPORTED, f"{kind}: {self.text(node)[:60]}")
            self.nested(node)

    def children(self, node: Node, redirects: tuple[Redirect, ...]) -> None:
        for child in node.named_children:
            if child.type in _STATEMENTS or child.type in ("comment", "ERROR"):
                self.statement(child, redirects)
            else:
                self.nested(child)

    def redirected(self, node: Node, outer: tuple[Redirect, ...]) -> None:
        redirects = list(outer)
        extra_args: list[Word] = []
        body = node.child_by_field_name("body")
        for child in node.children_by_field_name("redirect"):
            found, spilled = self.redirect(child)
            redirects.extend(found)
            extra_args.extend(spilled)
        if body is None:
            # `> /dev/sda` alone: a command with no name, so rules on what it writes still apply.
            self.result.commands.append(
                SimpleCommand(Word("", ""), tuple(extra_args), tuple(redirects), self.text(node))
            )
            return
        if body.type == "command":
            self.command(body, tuple(redirects), tuple(extra_args))
            return
        if extra_args:
            self.flag(UNSUPPORTED, f"arguments after a redirection of a compound command: {self.text(node)[:60]}")
        self.statement(body, tuple(redirects))

    def redirect(self, node: Node) -> tuple[list[Redirect], list[Word]]:
        """The redirections, and any argument words the grammar hung on them (`echo > f hi`).
        A here-document carries the redirections written after its word (`cat <<EOF > f`)."""
        if node.type == "heredoc_redirect":
            self.heredoc_end(node)
            redirects: list[Redirect] = []
            spilled: list[Word] = []
            for child in node.named_children:
                if child.type in _STATEMENTS:  # `cat <<EOF | sh`: the pipeline hangs on the here-doc
                    self.statement(child, ())
                elif child.type == "heredoc_body":
                    self.nested(child)  # the body is data, but its $(...) runs
                elif child.type in ("file_redirect", "herestring_redirect", "heredoc_redirect"):
                    more, words = self.redirect(child)
                    redirects.extend(more)
                    spilled.extend(words)
                elif child.type not in ("heredoc_start", "heredoc_end"):
                    spilled.append(self.word(child))
            return redirects, spilled
        if node.type == "herestring_redirect":
            self.nested(node)
            return [], []
        operator = next((c.type for c in node.children if not c.is_named), "")
        destination = node.child_by_field_name("destination")
        word_nodes = [c for c in node.named_children if c.type != "file_descriptor"]
        if destination is None:
            return [], []  # `2>&-` closes a descriptor
        target = self.word(destination)
        spilled = [self.word(c) for c in word_nodes if c.id != destination.id]
        writes = operator in _WRITE_OPERATORS and not (operator == ">&" and destination.type == "number")
        if target.value is not None and target.value.startswith(("/dev/tcp/", "/dev/udp/")):
            self.flag(NETWORK_REDIRECT, f"opens a network connection: {operator} {target.text}")
        if writes and target.value not in _HARMLESS_TARGETS:
            self.flag(WRITE_REDIRECT, f"writes to a file: {operator} {target.text}")
        return [Redirect(operator, target, writes)], spilled

    def heredoc_end(self, node: Node) -> None:
        """Where bash ends the here-document: at the first line equal to the delimiter after quote
        removal (`<<EO"F"` ends at `EOF`). When the grammar ends it elsewhere, the lines between
        are commands to bash but data to the tree: flagged."""
        parts = {c.type: self.text(c) for c in node.children}
        delimiter = _heredoc_delimiter(parts.get("heredoc_start", ""))
        strip_tabs = "<<-" in parts
        body_lines = parts.get("heredoc_body", "").split("\n")
        # The grammar leaves out the first line's leading tabs under <<-; lines after it keep theirs.
        ends_early = delimiter is not None and any(
            (line.lstrip("\t") if strip_tabs else line) == delimiter for line in body_lines
        )
        end = parts.get("heredoc_end")
        ends_late = end is not None and delimiter is not None and (end.lstrip("\t") if strip_tabs else end) != delimiter
        if delimiter is None or ends_early or ends_late:
            self.flag(
                UNSUPPORTED, f"a here-document whose end bash may find elsewhere: <<{parts.get('heredoc_start', '')}"
            )

    def command(self, node: Node, redirects: tuple[Redirect, ...], extra_args: tuple[Word, ...]) -> None:
        name: Word | None = None
        args: list[Word] = []
        for child in node.named_children:
            if child.type == "variable_assignment":
                self.flag(ENV_PREFIX, f"runs with a changed environment: {self.text(child)}")
                self.nested(child)
            elif child.type == "command_name":
                name = self.command_name(child)
            elif child.type in ("herestring_redirect", "file_redirect", "heredoc_redirect"):
                found, spilled = self.redirect(child)
                redirects = (*redirects, *found)
                args.extend(spilled)
            elif child.type != "comment":
                args.append(self.word(child))
        if name is None:
            return  # only assignments, flagged above
        if name.value == "alias":
            # alias NAME=VALUE: what later runs as NAME is no longer what NAME says
            self.result.defines.extend(w.value.split("=")[0] for w in args if w.value and "=" in w.value)
        self.result.commands.append(
            SimpleCommand(name, (*args, *extra_args), redirects, " ".join(self.text(node).split()))
        )

    def command_name(self, node: Node) -> Word:
        text = self.text(node)
        inner = node.named_children
        literal = len(inner) == 1 and inner[0].type == "word" and _PLAIN_NAME.fullmatch(text) is not None
        if not literal:
            self.nested(node)
            self.flag(DYNAMIC_COMMAND, f"the command name is not a plain word: {text}")
            # Still worked out where quotes alone disguise it (`\\rm`, `r''m`), for deny rules.
            return Word(text, self.value(inner[0]) if len(inner) == 1 else None)
        if "/" in text:
            self.flag(PATH_COMMAND, f"runs a program by path: {text}")
        return Word(text, text)

    # --- words ------------------------------------------------------------------------

    def word(self, node: Node) -> Word:
        self.nested(node)
        return Word(self.text(node), self.value(node))

    def value(self, node: Node) -> str | None:
        kind = node.type
        text = self.text(node)
        if kind == "word":
            if "`" in text:
                self.flag(UNSUPPORTED, f"a backquote inside a word: {text}")
                return None
            return None if _GLOB_OR_BRACE.search(text) else _WORD_ESCAPE.sub(r"\1", text)
        if kind == "number":
            return text
        if kind == "raw_string":
            return text[1:-1]
        if kind == "ansi_c_string":
            return _ansi_c_value(text[2:-1])
        if kind == "string":
            if any(c.type != "string_content" for c in node.named_children):
                return None
            return _DOUBLE_QUOTE_ESCAPE.sub(lambda m: "" if m[1] == "\n" else m[1], text[1:-1])
        if kind == "concatenation":
            parts = [self.value(c) for c in node.named_children]
            if any(p is None for p in parts):
                return None
            joined = "".join(p for p in parts if p is not None)
            unquoted = "".join(self.text(c) for c in node.named_children if c.type == "word")
            return None if _GLOB_OR_BRACE.search(unquoted) else joined
        return None  # expansions, substitutions, $'...': known only at run time

    def nested(self, node: Node) -> None:
        """Commands hidden inside a word or expression: $(...), `...`, <(...), >(...)."""
        if node.type in _SUBSTITUTIONS:
            for child in node.named_children:
                self.statement(child, ())
            return
        for child in node.named_children:
            self.nested(child)

    def unquoted_checks(self, root: Node) -> None:
        """What bash sees outside single quotes that the tree may not show: history expansion,
        backslash-newline joining words (`ls\\<newline>rm` is `lsrm` to bash, two words here),
        and substitution openers the grammar did not turn into substitutions (`${x:-`id`}`)."""
        masked = bytearray(self.source)
        seen: set[int] = set()  # byte offsets of the `$(`, `<(`, `>(` and backquotes the tree knows
        data: list[range] = []  # comments and quoted here-doc bodies: text, never expanded
        stack = [root]
        while stack:
            node = stack.pop()
            if node.type in ("raw_string", "ansi_c_string"):
                masked[node.start_byte : node.end_byte] = b" " * (node.end_byte - node.start_byte)
                continue
            if node.type in _MAY_EVALUATE:
                self.hidden_evaluation(node)
            if node.type in ("command_substitution", "process_substitution", "arithmetic_expansion"):
                seen.update((node.start_byte, node.end_byte - 1))
            elif node.type == "comment":
                data.append(range(node.start_byte, node.end_byte))
            elif node.type == "heredoc_redirect" and _quoted_delimiter(node, self.source):
                data.extend(range(c.start_byte, c.end_byte) for c in node.children if c.type == "heredoc_body")
            stack.extend(node.children)
        text = bytes(masked)
        if _HISTORY_BANG.search(text) or any(line.lstrip().startswith(b"^") for line in text.split(b"\n")):
            self.flag(HISTORY_EXPANSION, "history expansion (`!...` or `^...^`) runs an earlier command")
        if b"\\\n" in text:
            self.flag(
                UNSUPPORTED, "a backslash-newline line continuation, which bash and the parser may split differently"
            )
        unseen = [
            m.start()
            for m in _SUBSTITUTION_OPENER.finditer(text)
            if m.start() not in seen and not any(m.start() in r for r in data)
        ]
        if unseen:
            self.flag(UNSUPPORTED, f"a substitution the parser did not see, at byte {unseen[0]}")

    def hidden_evaluation(self, node: Node) -> None:
        """What bash evaluates that the words do not show: arithmetic (a variable's value there is
        evaluated again, so `x='a[$(id)]'; echo $((x))` runs id), array subscripts, `${!x}`
        indirection, `${x@P}` and other transformations, and `[[ ]]`'s arithmetic tests and -v."""
        kind = node.type
        if kind in ("arithmetic_expansion", "c_style_for_statement") or (
            kind == "compound_statement" and node.child_count and node.children[0].type == "(("
        ):
            if _NOT_ONLY_NUMBERS.search(_BASE_CONSTANT.sub("", self.text(node)[2:])):
                self.flag(HIDDEN_EVALUATION, f"arithmetic evaluates the values it names: {self.text(node)[:60]}")
        elif kind == "subscript":
            index = node.child_by_field_name("index")
            if index is None or not _PLAIN_INDEX.fullmatch(self.text(index)):
                self.flag(HIDDEN_EVALUATION, f"an array subscript is evaluated: {self.text(node)[:60]}")
        elif kind == "expansion":
            tokens = [c.type for c in node.children]
            if len(tokens) > 1 and tokens[1] in ("!", "@"):
                self.flag(HIDDEN_EVALUATION, f"indirect expansion evaluates the name it finds: {self.text(node)[:60]}")
            elif "@" in tokens:
                self.flag(
                    HIDDEN_EVALUATION,
                    f"a transformation (`@P` runs substitutions in the value): {self.text(node)[:60]}",
                )
            elif ":" in tokens and any(
                c.type != "number" for c in node.children[tokens.index(":") + 1 : -1] if c.is_named
            ):
                self.flag(HIDDEN_EVALUATION, f"a substring offset is evaluated as arithmetic: {self.text(node)[:60]}")
        elif kind == "test_command" and node.children[0].type == "[" and _RUN_TIME_WORD.search(self.text(node)):
            # `[` is the test builtin: a word known only at run time may become `-v` (and `-v`
            # evaluates a subscript); `[[ ]]` takes its operators from the line itself.
            self.flag(HIDDEN_EVALUATION, f"`[ ]` with a word known only at run time: {self.text(node)[:60]}")
        elif (
            kind in ("binary_expression", "unary_expression")
            and node.parent is not None
            and node.parent.type == "test_command"
        ):
            operator = next((c for c in node.children if c.type == "test_operator"), None)
            if operator is None:
                return
            name = self.text(operator)
            operands = [c for c in node.named_children if c.type != "test_operator"]
            double = node.parent.children[0].type == "[["  # `[ a -eq b ]` compares integers, no evaluation
            arithmetic = double and name in _ARITHMETIC_TESTS
            if name in ("-v", "-R") or (arithmetic and any(not _PLAIN_INDEX.fullmatch(self.text(c)) for c in operands)):
                self.flag(HIDDEN_EVALUATION, f"the test `{name}` evaluates its operands: {self.text(node)[:60]}")


def _heredoc_delimiter(word: str) -> str | None:
    """The here-document delimiter bash derives from `word` (quote removal); None when it is
    not plain quoting (`$'...'`, `$"..."`, an expansion)."""
    if not word or "$" in word or "`" in word:
        return None
    out: list[str] = []
    index = 0
    while index < len(word):
        char = word[index]
        if char == "\\" and index + 1 < len(word):
            out.append(word[index + 1])
            index += 2
        elif char == "'":
            close = word.find("'", index + 1)
            if close < 0:
                return None
            out.append(word[index + 1 : close])
            index = close + 1
        elif char == '"':
            close = index + 1
            while close < len(word) and word[close] != '"':
                close += 2 if word[close] == "\\" else 1
            if close >= len(word):
                return None
            out.append(_DOUBLE_QUOTE_ESCAPE.sub(r"\1", word[index + 1 : close]))
            index = close + 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _quoted_delimiter(heredoc: Node, source: bytes) -> bool:
    start = next((c for c in heredoc.children if c.type == "heredoc_start"), None)
    return start is not None and any(q in source[start.start_byte : start.end_byte] for q in (b"'", b'"', b"\\"))


_ANSI_C_ESCAPE = re.compile(
    r"\\(?:([abeEfnrtv\\'\"?])|([0-7]{1,3})|x([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{1,4})|U([0-9a-fA-F]{1,8})|(.))", re.DOTALL
)
_ANSI_C_SIMPLE = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _ansi_c_value(body: str) -> str | None:
    """The value of $'...'; None for escapes this does not decode (\\c, unknown ones)."""
    unknown = False

    def one(match: re.Match[str]) -> str:
        nonlocal unknown
        simple, octal, *hexes, other = match.groups()
        if simple:
            return _ANSI_C_SIMPLE.get(simple, simple)
        if octal:
            return chr(int(octal, 8))
        code = next((h for h in hexes if h), None)
        if code:
            return chr(min(int(code, 16), 0x10FFFF))
        unknown = True
        return other

    value = _ANSI_C_ESCAPE.sub(one, body)
    return None if unknown else value
