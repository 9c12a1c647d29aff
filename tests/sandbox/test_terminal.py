from termagent.sandbox.terminal import Terminal, cap_middle


def test_output_since_a_mark_includes_lines_that_scrolled_off():
    terminal = Terminal(20, 5)
    terminal.feed("$ ")
    mark = terminal.screen.mark()
    terminal.feed("seq 12\r\n" + "".join(f"{n}\r\n" for n in range(1, 13)) + "$ ")
    observation = terminal.screen.output_since(mark)
    assert not observation.is_full_screen
    assert observation.text.splitlines() == ["$ seq 12", *map(str, range(1, 13)), "$"]


def test_alternate_screen_is_reported_whole_and_the_main_screen_restored():
    terminal = Terminal(20, 5)
    terminal.feed("$ vim\r\n")
    mark = terminal.screen.mark()
    terminal.feed("\x1b[?1049h\x1b[H\x1b[2Jeditor frame")
    observation = terminal.screen.output_since(mark)
    assert observation.is_full_screen and observation.text == "editor frame"
    terminal.feed("\x1b[?1049l$ ")
    assert terminal.screen.text() == "$ vim\n$"
    assert terminal.screen.output_since(mark).text == "$"


def test_wide_characters_render_once():
    terminal = Terminal(20, 5)
    terminal.feed("日本語 ok")
    assert terminal.screen.text() == "日本語 ok"


def test_cleared_screen_is_reported_whole():
    terminal = Terminal(20, 5)
    terminal.feed("old\r\n$ ")
    mark = terminal.screen.mark()
    terminal.feed("clear\r\n\x1b[H\x1b[2J$ ")
    observation = terminal.screen.output_since(mark)
    assert observation.is_full_screen and observation.text == "$"


def test_long_output_keeps_head_and_tail():
    text = "a" * 6000 + "MIDDLE" + "z" * 6000
    capped = cap_middle(text, 10_000)
    assert capped.startswith("a" * 5000) and capped.endswith("z" * 5000)
    assert "MIDDLE" not in capped and "omitted" in capped
    assert cap_middle("short") == "short"


def test_scrollback_is_bounded():
    terminal = Terminal(20, 5)
    terminal.screen.scrollback = type(terminal.screen.scrollback)(maxlen=100)
    mark = terminal.screen.mark()
    terminal.feed("y\r\n" * 1000)
    assert len(terminal.screen.scrollback) == 100
    assert "scrolled out of memory" in terminal.screen.output_since(mark).text


def test_redraw_text_rebuilds_the_screen_and_cursor_in_another_emulator():
    original = Terminal(20, 5)
    original.feed("line one\r\n$ ")
    copy = Terminal(20, 5)
    copy.feed(original.screen.redraw_text())
    copy.feed("typed")
    assert copy.screen.text() == "line one\n$ typed"
