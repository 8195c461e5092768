"""Public checks for exercise18. Run: pytest exercises/exercise18_export  (then: grade exercise18)"""

import zipfile

import torch
from torch import nn

from export import export_model, load_exported


def _model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
    with torch.no_grad():  # give batch norm running statistics of its own
        model(torch.randn(16, 4) * 3 + 1)
    return model


def test_export_round_trip_gives_eval_outputs(tmp_path):
    model = _model()  # in train mode
    path = tmp_path / "model.pt2"
    export_model(model, torch.randn(5, 4), str(path))
    assert path.is_file() and zipfile.is_zipfile(path)
    x = torch.randn(5, 4)
    loaded = load_exported(str(path))
    model.eval()
    with torch.no_grad():
        want = model(x)
    torch.testing.assert_close(loaded(x), want)


def test_export_keeps_the_mode(tmp_path):
    model = _model()
    export_model(model, torch.randn(5, 4), str(tmp_path / "a.pt2"))
    assert all(m.training for m in model.modules()), "a model given in train mode must stay in train mode"
    model.eval()
    export_model(model, torch.randn(5, 4), str(tmp_path / "b.pt2"))
    assert not any(m.training for m in model.modules()), "a model given in eval mode must stay in eval mode"


def test_file_is_a_torch_export_program(tmp_path):
    path = str(tmp_path / "model.pt2")
    export_model(_model(), torch.randn(5, 4), path)
    assert isinstance(torch.export.load(path), torch.export.ExportedProgram)
