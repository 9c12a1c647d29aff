from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from termagent.policy.shell_parse import parse


def names(text: str) -> list[str | None]:
    return sorted((c.literal_name or "?") for c in parse(text).commands)


def kinds(text: str) -> set[str]:
    return {c.kind for c in parse(text).constructs}


def test_every_command_in_a_line_is_found() -> None:
    line = "a; b && c || d & e | f\n(g); { h; }; echo $(i) `j` <(k) >(l); if m; then n; fi\nwhile o; do p; done\n"
    assert names(line) == sorted([*"abcdefghijklmnop", "echo"])


def test_here_doc_body_is_data_but_its_substitutions_run() -> None:
    assert names("cat <<EOF\nrm -rf /\nEOF\n") == ["cat"]
    assert names("cat <<EOF\n$(rm x)\nEOF\n") == ["cat", "rm"]
    assert names("cat <<EOF | sh\nid\nEOF\n") == ["cat", "sh"]


def test_literal_values_after_quote_removal() -> None:
    command = parse("grep -e 'a b' \"c\\\"d\" e\\ f x$y '*.py' *.py\n").commands[0]
    assert [w.value for w in command.args] == ["-e", "a b", 'c"d', "e f", None, "*.py", None]


def test_arguments_hung_on_a_redirection_are_kept() -> None:
    command = parse("echo > f hi\n").commands[0]
    assert [w.value for w in command.args] == ["hi"] and command.redirects[0].target.value == "f"


def test_constructs_that_hide_what_runs() -> None:
    assert "dynamic_command" in kinds("r''m x\n") and "dynamic_command" in kinds("$x y\n")
    assert "dynamic_command" in kinds("\\rm x\n") and "dynamic_command" in kinds("$'\\x72m' x\n")
    assert "path_command" in kinds("/bin/rm x\n") and "path_command" in kinds("./x\n")
    assert "env_prefix" in kinds("LD_PRELOAD=x ls\n")
    assert "assignment" in kinds("export PATH=/tmp\n") and "assignment" in kinds("for PATH in x; do :; done\n")
    assert "function_definition" in kinds("f() { ls; }\n")
    assert "history_expansion" in kinds("echo !!\n") and "history_expansion" in kinds("^a^b\n")
    assert "parse_error" in kinds("ls )\n")
    assert "unsupported" in kinds("echo `echo \\`id\\``\n")


def test_write_redirections_but_not_harmless_ones() -> None:
    assert "write_redirect" in kinds("ls > f\n") and "write_redirect" in kinds("ls &>> f\n")
    assert kinds("ls 2>/dev/null >&2 < in 2>&1\n") == set()


def test_single_quotes_stop_history_expansion() -> None:
    assert kinds("echo '!x'\n") == set()
    assert kinds("[ a != b ] && echo hi!\n") == set()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab $'\"`\\;|&()<>{}!#*\n=-/")), max_size=40))
def test_parse_never_raises(text: str) -> None:
    parse(text)


def test_what_bash_changes_before_parsing_is_flagged() -> None:
    assert "unsupported" in kinds("ls\\\nrm x\n")  # bash reads `lsrm x`; the grammar reads `ls rm x`
    assert kinds("echo 'a\\\nb'\n") == set()
    assert "assignment" in kinds("((PATH=0))\n")
    assert "network_redirect" in kinds("cat </dev/tcp/1.2.3.4/80\n")


def test_substitutions_the_grammar_misses_are_flagged() -> None:
    assert "unsupported" in kinds("echo ${x:-`rm y`}\n")
    assert kinds("cat <<'EOF'\n$(rm x) `y`\nEOF\n") == set()  # a quoted here-doc body is data
    assert kinds("ls # $(x) `y`\n") == set()
