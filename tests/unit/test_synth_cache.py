"""The synthesized assembly is kept for the sources it was made of (sandbox/synth.py ``synthesized``)."""

import threading

import pytest

from sandbox import synth

FAKE_APP = """import json, os, pathlib, sys
out = pathlib.Path(os.environ["CDK_OUTDIR"]); out.mkdir(parents=True, exist_ok=True)
(out / "manifest.json").write_text(json.dumps({"context": os.environ.get("CDK_CONTEXT_JSON")}))
with open(pathlib.Path(__file__).with_name("runs.log"), "a") as log:
    log.write("synth\\n")
if "slow" in pathlib.Path(__file__).with_name("cdk.json").read_text():
    import time; time.sleep(0.5)
if "fail" in pathlib.Path(__file__).with_name("cdk.json").read_text():
    sys.exit("the app failed")
"""


@pytest.fixture
def app(tmp_path, monkeypatch):
    (tmp_path / "app.py").write_text(FAKE_APP)
    (tmp_path / "cdk.json").write_text("{}")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "one.py").write_text("A = 1\n")
    monkeypatch.setattr(synth, "ROOT", tmp_path)
    monkeypatch.setattr(synth, "CACHE", tmp_path / ".sandbox" / "synth")
    return tmp_path


def runs(app) -> int:
    return (app / "runs.log").read_text().count("synth")


def test_the_same_sources_synthesize_once(app):
    first = synth.synthesized("dhbw")
    assert synth.synthesized("dhbw") == first and runs(app) == 1
    assert (first / "manifest.json").read_text() == '{"context": "{\\"customer\\": \\"dhbw\\"}"}'
    assert synth.synthesized("edt") != first and runs(app) == 2  # another customer is another assembly


def test_a_changed_source_synthesizes_again_and_forgets_the_old_assembly(app):
    first = synth.synthesized("dhbw")
    (app / "stacks" / "one.py").write_text("A = 2\n")
    second = synth.synthesized("dhbw")
    assert second != first and runs(app) == 2
    assert not first.exists() and (second / "manifest.json").exists()


def test_a_failed_synth_keeps_nothing(app):
    (app / "cdk.json").write_text('{"fail": true}')
    with pytest.raises(synth.SynthError, match="the app failed"):
        synth.synthesized("dhbw")
    assert list((app / ".sandbox" / "synth").iterdir()) == []


def test_concurrent_callers_synthesize_once_and_all_get_the_assembly(app):
    # given two test workers asking for the same assembly at once, while the first synth is still running
    (app / "cdk.json").write_text('{"slow": true}')
    got: list = []
    callers = [threading.Thread(target=lambda: got.append(synth.synthesized("dhbw"))) for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    # then the app ran once, and every caller got the one whole assembly
    assert runs(app) == 1
    assert len(got) == 3 and len(set(got)) == 1 and (got[0] / "manifest.json").exists()
