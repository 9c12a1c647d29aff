import pytest

from termagent.errors import ConfigurationError
from termagent.sandbox.disk import parse_size
from termagent.sandbox.profiles import available_profiles, load_profile


def test_shipped_profiles_load_and_drop_the_network_by_default():
    assert {"strict", "default", "networked"} <= set(available_profiles())
    assert load_profile("default").network == "none"
    assert load_profile("strict").read_only and load_profile("strict").cap_add == ()
    assert load_profile("networked").network == "bridge"


def test_single_limits_can_be_overridden():
    profile = load_profile("default").with_overrides(memory="2g", pids_limit=64, network=None)
    assert (profile.memory, profile.pids_limit, profile.network) == ("2g", 64, "none")


def test_a_bad_override_names_the_field():
    with pytest.raises(ConfigurationError, match=r"\$\.memory"):
        load_profile("default").with_overrides(memory="lots")


def test_a_bad_profile_file_names_the_file_and_field(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "network: none\ncap_add: []\npids_limit: two\nmemory: 1g\ncpus: 1\ntmp_size: 1m\ndisk: 1g\nread_only: false\n"
    )
    with pytest.raises(ConfigurationError, match=r"mine.yaml.*\$\.pids_limit"):
        load_profile(str(path))


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(ConfigurationError, match="strict"):
        load_profile("nonesuch")


def test_every_profile_bounds_the_disk_strict_tightest():
    limits = {name: parse_size(load_profile(name).disk) for name in available_profiles()}
    assert limits["default"] == 4 << 30 and limits["strict"] == 1 << 30
    assert limits["strict"] == min(limits.values())


def test_a_profile_without_a_disk_limit_is_refused(tmp_path):
    path = tmp_path / "unbounded.yaml"
    path.write_text("network: none\ncap_add: []\npids_limit: 64\nmemory: 1g\ncpus: 1\ntmp_size: 1m\nread_only: false\n")
    with pytest.raises(ConfigurationError, match=r"unbounded.yaml.*'disk' is a required property"):
        load_profile(str(path))
    with pytest.raises(ConfigurationError, match=r"\$\.disk"):
        load_profile("default").with_overrides(disk="a lot")
