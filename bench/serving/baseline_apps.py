# The baselines: the seed's Flask microservice and a FastAPI version, both predicting with XGBoost from the same m.json.
# gunicorn -w 2 baseline_apps:flask_app   |   uvicorn --workers 2 baseline_apps:fastapi_app (or fastapi_sync_app)
import os

import numpy as np
import xgboost as xgb

booster = xgb.Booster()
booster.load_model(os.environ["BENCH_MODEL"])
# One thread per worker process: the workers already use both cores.
booster.set_param({"nthread": 1})


def predict(instances):
    x = np.array(instances, dtype=np.float32)
    return booster.predict(xgb.DMatrix(x)).tolist()


def make_flask():
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    @app.post("/predict")
    def flask_predict():
        return jsonify({"predictions": predict(request.get_json()["instances"])})

    return app


def make_fastapi(sync):
    from fastapi import FastAPI, Request

    app = FastAPI()
    if sync:
        # A plain def endpoint runs in FastAPI's thread pool; it needs the body parsed by a model, so take a dict.
        @app.post("/predict")
        def fastapi_predict_sync(body: dict):
            return {"predictions": predict(body["instances"])}

    else:

        @app.post("/predict")
        async def fastapi_predict(request: Request):
            body = await request.json()
            return {"predictions": predict(body["instances"])}

    return app


kind = os.environ.get("BENCH_APP", "flask")
flask_app = make_flask() if kind == "flask" else None
fastapi_app = make_fastapi(sync=False) if kind == "fastapi" else None
fastapi_sync_app = make_fastapi(sync=True) if kind == "fastapi-sync" else None
