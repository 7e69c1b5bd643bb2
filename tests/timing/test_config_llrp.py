"""event.toml for an LLRP reader: format "llrp" with a tcp:// port, and the antennas used."""

from pathlib import Path

import pytest

from tests.timing.builders import EVENT_TOML, write_folder
from timing.errors import FolderError
from timing.folder import load_folder

MID = 'id = "MID"\nformat = "retrotime-csv"\nport = "/dev/null"'


def test_an_llrp_reader_loads_and_names_the_antennas_its_points_use(tmp_path: Path) -> None:
    toml = EVENT_TOML.replace(MID, 'id = "MID"\nformat = "llrp"\nport = "tcp://10.0.0.7:5084"')
    event = load_folder(write_folder(tmp_path, toml=toml)).event
    assert event.readers["MID"].port == "tcp://10.0.0.7:5084"
    assert event.antennas_of("MID") == {1, 2, 3}  # upstream, downstream and the oncoming panel
    assert event.antennas_of("START") == {1, 2}


@pytest.mark.parametrize(
    ("fmt", "port"), [("llrp", "/dev/ttyUSB0"), ("llrp", "socket://10.0.0.7:5084"),
                      ("retrotime-csv", "tcp://10.0.0.7:5084")],
)  # fmt: skip
def test_llrp_and_tcp_go_together(tmp_path: Path, fmt: str, port: str) -> None:
    toml = EVENT_TOML.replace(MID, f'id = "MID"\nformat = "{fmt}"\nport = "{port}"')
    with pytest.raises(FolderError) as caught:
        load_folder(write_folder(tmp_path, toml=toml))
    assert any(
        f"readers[1].port: an LLRP reader (format \"llrp\") and only it has a port "
        f"\"tcp://HOST:5084\", got '{port}'" in str(p)
        for p in caught.value.problems
    )
