"""What Python's str.format gives for checkpoint-path templates (the expectations of
test/engine/python_format.test.ts). Plain Python, no packages:

    python3 scripts/python_format_fixtures.py > test/fixtures/python_format.json

Each case: a template, int fields and float fields, and Python's result or its error type.
"""
import json

FLOATS = [0.0, -0.0, 1.0, 0.5, 0.125, 0.375, 2.5, 1.005, 0.1, 1 / 3, 2 / 3, 123.456, -1.5, 1e-05, 0.0001, 1e16,
          123456789.0, 1e-300, 5e-324, 1.7976931348623157e308, 0.045, 99.995, 9.9999, 1234567.0, float("inf"), float("nan")]
INTS = [0, 1, 7, 12, 123, -5, 1234567]
FLOAT_SPECS = ["", ".2f", ".4f", ".0f", "f", "e", ".3e", ".0e", "g", ".3g", ".1g", ".10g", "%", ".1%", "8.3f", "<8.2f",
               "^9.2f", "=+8.2f", "+.3f", " .2f", "08.3f", ",.2f", "_.1f", ".3", ".1", "E", "G", ".2F", "#.0f", "#g",
               "z.1f", "010.4e", "x>10.2f", "n"]
INT_SPECS = ["", "d", "02d", "03d", "5d", "<5d", "^5d", "+d", ",d", "08,d", "x", "#x", "X", "b", "o", "#o", ".2f", "e", "g", "%"]
BAD = [("{loss:d}", {}, {"loss": 0.5}), ("{missing}", {"epoch": 1}, {}), ("{0}", {"epoch": 1}, {}), ("{epoch:.2d}", {"epoch": 1}, {}),
       ("{epoch", {"epoch": 1}, {}), ("epoch}", {"epoch": 1}, {}), ("{epoch:q}", {"epoch": 1}, {}), ("{epoch[0]}", {"epoch": 1}, {})]

cases = []


def case(template, ints, floats):
    values = {**ints, **floats}
    try:
        result = {"ok": template.format(**values)}
    except Exception as e:  # noqa: BLE001
        result = {"error": type(e).__name__}
    cases.append({"template": template, "ints": ints, "floats": {k: repr(v) for k, v in floats.items()}, **result})


for spec in FLOAT_SPECS:
    for x in FLOATS:
        case("{val_loss:" + spec + "}" if spec else "{val_loss}", {}, {"val_loss": x})
for spec in INT_SPECS:
    for n in INTS:
        case("{epoch:" + spec + "}" if spec else "{epoch}", {"epoch": n}, {})
case("ckpt-{epoch:02d}-{val_loss:.2f}.keras", {"epoch": 3}, {"val_loss": 0.123456})
case("w{{literal}}-{batch:04d}-{loss!r}.weights.h5", {"batch": 17}, {"loss": 0.1})
case("{epoch!s:>4}", {"epoch": 7}, {})
for template, ints, floats in BAD:
    case(template, ints, floats)
print(json.dumps(cases, indent=0))
