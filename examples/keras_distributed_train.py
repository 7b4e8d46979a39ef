"""Train a model saved by tskeras with Keras, data-parallel over several devices, and save it back.

    python examples/keras_distributed_train.py model.keras data.json trained.keras \
        [--epochs 5] [--batch-size 32] [--devices 2] [--report report.json]

- model.keras: written by tskeras's save_model() (compiled: its optimizer, loss and metrics come along);
- data.json: {"x": [...], "y": [...]} (nested arrays, as tskeras's fit() takes them);
- trained.keras: the trained model, for tskeras's load_model() (to predict, or fine-tune further).

The distribution: `keras.distribution.DataParallel` when Keras runs on JAX, else (TensorFlow)
`tf.distribute.MirroredStrategy`. `--devices N` splits this machine's CPU into N logical devices, so
the data-parallel path runs anywhere; on a machine with GPUs, pass `--devices 0` to use them as they are.
Each step's batch is split across the replicas and their gradients are summed, so the result is the
same training as on one device (up to float rounding).
"""

import argparse
import json
import os

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("model")
parser.add_argument("data")
parser.add_argument("out")
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--devices", type=int, default=2, help="logical CPU devices to create (0: use the machine's)")
parser.add_argument("--report", help="write the replica count, history and predictions on x to this JSON file")
args = parser.parse_args()

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
backend = os.environ["KERAS_BACKEND"]

if backend == "jax" and args.devices:
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"

import numpy as np  # noqa: E402

if backend == "tensorflow":
    import tensorflow as tf  # noqa: E402

    if args.devices:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.devices)

import keras  # noqa: E402

data = json.load(open(args.data))
x, y = np.asarray(data["x"], "float32"), np.asarray(data["y"], "float32")

if backend == "jax":
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    replicas = len(keras.distribution.list_devices())
    model = keras.saving.load_model(args.model)
else:
    strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")] if args.devices else None)
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():
        # Loading in the strategy's scope makes the weights and the optimizer state mirrored variables.
        model = keras.saving.load_model(args.model)

print(f"training on {replicas} replicas ({backend})")
history = model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, shuffle=False, verbose=2)
model.save(args.out)
print(f"saved {args.out}")

if args.report:
    report = {
        "replicas": replicas,
        "backend": backend,
        "history": history.history,
        "predictions": np.asarray(model.predict(x, verbose=0)).tolist(),
        "iterations": int(model.optimizer.iterations.numpy()),
    }
    json.dump(report, open(args.report, "w"))
