"""Drive a Conveyor server with the stock KServe REST client (v2); print results as JSON.

Run in a subprocess by test_stock_clients.py (in its own venv: kserve pins many packages)
with ``url`` (http://host:port[/prefix]), ``model``, ``columns`` and ``rows``.
"""

import asyncio
import json
import sys

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput

args = json.loads(sys.argv[1])
rows = np.asarray(args["rows"], dtype=np.float64)
model, url = args["model"], args["url"]


def tensor(name, values, binary):
    t = InferInput(name, list(values.shape), "FP64")
    t.set_data_from_numpy(values, binary_data=binary)
    return t


async def main():
    client = InferenceRESTClient(RESTConfig(protocol="v2"))
    out = {
        "live": await client.is_server_live(url),
        "ready": await client.is_server_ready(url),
        "model_ready": await client.is_model_ready(url, model),
    }
    # the REST client has no metadata call: read it with the httpx client it wraps
    out["metadata"] = (await client._client.get(f"{url}/v2/models/{model}")).json()

    async def infer(inputs, outputs=None, name=model):
        request = InferRequest(model_name=name, infer_inputs=inputs, request_outputs=outputs)
        result = await client.infer(url, request, model_name=name)
        got = {}
        for o in result.outputs:
            got[o.name] = o.as_numpy().tolist()
        return got

    for binary in (True, False):
        kind = "binary" if binary else "json"
        out[f"matrix_{kind}"] = await infer([tensor("input", rows, binary)])
        columns = [
            tensor(c, np.ascontiguousarray(rows[:, i]), binary)
            for i, c in enumerate(args["columns"])
        ]
        out[f"columns_{kind}"] = await infer(columns)
        asked = [
            RequestedOutput(n, parameters={"binary_data": binary})
            for n in ("predict", "probabilities")
        ]
        out[f"proba_{kind}"] = await infer([tensor("input", rows, binary)], asked)
    errors = {}
    for label, call in {
        "unknown_model": infer([tensor("input", rows, True)], name="nope"),
        "bad_shape": infer([tensor("input", rows[:, :1], True)]),
    }.items():
        try:
            await call
            errors[label] = None
        except httpx.HTTPStatusError as exc:
            errors[label] = {"status": exc.response.status_code, "text": str(exc)}
    out["errors"] = errors
    await client.close()
    print(json.dumps(out))


asyncio.run(main())
