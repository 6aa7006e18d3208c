"""The reference GPTQ dequantizer (training/gptq_reference.py) against a layer packed by
hand from the format description, and against the shared test vectors that the Rust
quantizer writes (prepare/src/gptq.rs: the files must decode to exactly its weights)."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

import gptq_reference  # noqa: E402

VECTORS = ROOT / "training" / "tests" / "fixtures" / "gptq"


def test_a_layer_packed_by_hand():
    # K = 8 inputs, N = 8 outputs, 4 bits, one group of 8 (g_idx all 0).
    rng = np.random.default_rng(1)
    q = rng.integers(0, 16, size=(8, 8))  # [K, N]
    zero = rng.integers(1, 16, size=(1, 8))  # true zeros, [G, N]
    scale = rng.uniform(0.01, 0.1, size=(1, 8)).astype(np.float16)
    qweight = np.zeros((1, 8), dtype=np.int64)
    for k in range(8):
        qweight[0] |= q[k] << (4 * k)
    qzeros = np.zeros((1, 1), dtype=np.int64)
    for n in range(8):
        qzeros[0, 0] |= (zero[0, n] - 1) << (4 * n)  # v1: zero - 1
    as_i32 = lambda a: a.astype(np.uint32).view(np.int32)  # noqa: E731
    w = gptq_reference.dequantize(as_i32(qweight), as_i32(qzeros), scale, np.zeros(8, dtype=np.int32), bits=4)
    want = (scale.astype(np.float32)[0] * (q - zero[0])).T
    assert w.shape == (8, 8)
    np.testing.assert_array_equal(w, want.astype(np.float32))
    # v2 stores the zero itself: the same words mean zeros one lower.
    w2 = gptq_reference.dequantize(as_i32(qweight), as_i32(qzeros), scale, np.zeros(8, dtype=np.int32), bits=4, checkpoint_format="gptq_v2")
    np.testing.assert_allclose(w2 - w, np.broadcast_to(scale.astype(np.float32)[0][:, None], (8, 8)), rtol=1e-6)
    with pytest.raises(ValueError):
        gptq_reference.dequantize(as_i32(qweight), as_i32(qzeros), scale, np.zeros(8, dtype=np.int32), bits=4, checkpoint_format="marlin")


@pytest.mark.parametrize("variant", sorted(p.name for p in VECTORS.iterdir()))
def test_the_rust_quantizers_files_decode_to_its_weights(variant):
    tensors = gptq_reference.load(VECTORS / variant)
    layers = [name[len("expected."):] for name in tensors if name.startswith("expected.")]
    assert len(layers) == 2
    for layer in layers:
        got, want = tensors[layer], tensors[f"expected.{layer}"]
        assert got.shape == want.shape, layer
        np.testing.assert_array_equal(got, want, err_msg=f"{variant}: {layer}")


MODELS = ROOT / "models"
GPTQ_DIR = MODELS / "SmolLM2-135M-intent-gptq"
HF_DIR = MODELS / "SmolLM2-135M-intent-hf"


def test_the_prepared_checkpoint_decodes_close_to_its_f16_weights():
    """The GPTQ checkpoint that scripts/build.sh prepares: every projection decodes to within
    4-bit error of the same F16 weights (a wrong row order or packing would be far off), the
    rest is the F16 weights unchanged, and both descriptions of the quantization agree."""
    import json
    import safetensors_file

    assert GPTQ_DIR.is_dir(), f"{GPTQ_DIR} is missing: run scripts/build.sh"
    decoded = gptq_reference.load(GPTQ_DIR)
    f16 = safetensors_file.read(HF_DIR / "model.safetensors")
    assert set(decoded) == set(f16)
    projections = 0
    for name, want in f16.items():
        got = decoded[name].astype(np.float64)
        want = want.astype(np.float64)
        if name.endswith("_proj.weight"):
            projections += 1
            rel = np.linalg.norm(got - want) / np.linalg.norm(want)
            assert rel < 0.3, f"{name}: relative error {rel:.3f}"
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)
    assert projections == 7 * 30
    config = json.loads((GPTQ_DIR / "config.json").read_text())["quantization_config"]
    assert config == json.loads((GPTQ_DIR / "quantize_config.json").read_text())
    assert config["bits"] == 4 and config["group_size"] == 64 and config["desc_act"] is True
    assert json.loads((GPTQ_DIR / "intent.json").read_text())["weights"].startswith("GPTQ 4-bit")
