from termagent.sandbox.shell_marks import MarkFilter, ShellMark

STREAM = (
    "hello\x1b]133;D;tok;0;0\x07\x1b]7;tok;/a;b\x07root@x:/app# \x1b]133;B;tok\x07"
    "\x1b]0;title\x07\x1b]133;D;forged;1;0\x07"
)
EXPECTED_TEXT = "helloroot@x:/app# \x1b]0;title\x07\x1b]133;D;forged;1;0\x07"
EXPECTED_MARKS = [ShellMark("D", ("0", "0")), ShellMark("cwd", ("/a;b",)), ShellMark("B", ())]


def test_marks_are_removed_and_reported_whatever_the_split():
    for split in range(len(STREAM) + 1):
        marks_filter = MarkFilter("tok")
        first_text, first_marks = marks_filter.feed(STREAM[:split])
        second_text, second_marks = marks_filter.feed(STREAM[split:])
        assert first_text + second_text == EXPECTED_TEXT, split
        assert first_marks + second_marks == EXPECTED_MARKS, split


def test_marks_with_another_token_pass_through_to_the_screen():
    text, marks = MarkFilter("tok").feed("\x1b]133;B;other\x07")
    assert marks == [] and text == "\x1b]133;B;other\x07"


def test_an_unterminated_foreign_osc_is_not_held_forever():
    marks_filter = MarkFilter("tok")
    text, _ = marks_filter.feed("\x1b]8;;" + "x" * 10_000)
    assert text.startswith("\x1b]8;;")
