"""Drive a Conveyor server with the stock Triton HTTP client; print what it got as JSON.

Run in a subprocess by test_stock_clients.py: ``python triton_check.py '<json args>'``
with ``url`` (host:port[/prefix]), ``model``, ``columns`` and ``rows``.
"""

import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

args = json.loads(sys.argv[1])
rows = np.asarray(args["rows"], dtype=np.float64)
model = args["model"]
client = httpclient.InferenceServerClient(url=args["url"])
out: dict = {
    "live": client.is_server_live(),
    "ready": client.is_server_ready(),
    "model_ready": client.is_model_ready(model),
    "metadata": client.get_model_metadata(model),
}


def tensor(name, values, binary):
    t = httpclient.InferInput(name, list(values.shape), "FP64")
    t.set_data_from_numpy(values, binary_data=binary)
    return t


def infer(inputs, outputs=None, **kw):
    result = client.infer(model, inputs, outputs=outputs, **kw)
    got = {"predict": result.as_numpy("predict").tolist()}
    proba = result.as_numpy("probabilities")
    if proba is not None:
        got["probabilities"] = proba.tolist()
    return got


for binary in (True, False):
    kind = "binary" if binary else "json"
    out[f"matrix_{kind}"] = infer([tensor("input", rows, binary)])
    columns = [
        tensor(c, np.ascontiguousarray(rows[:, i]), binary) for i, c in enumerate(args["columns"])
    ]
    out[f"columns_{kind}"] = infer(columns)
    asked = [
        httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("predict", "probabilities")
    ]
    out[f"proba_{kind}"] = infer([tensor("input", rows, binary)], outputs=asked)
out["versioned"] = infer([tensor("input", rows, True)], model_version="1")
errors = {}
for name, call in {
    "unknown_model": lambda: client.infer("nope", [tensor("input", rows, True)]),
    "bad_shape": lambda: client.infer(model, [tensor("input", rows[:, :1], True)]),
    "unknown_version": lambda: client.infer(
        model, [tensor("input", rows, True)], model_version="99"
    ),
}.items():
    try:
        call()
        errors[name] = None
    except InferenceServerException as exc:
        errors[name] = {"status": exc.status(), "text": str(exc)}
out["errors"] = errors
print(json.dumps(out))
