#!/usr/bin/python3
"""Bad ONNX models for the tests/invalid cases of `cimlab graph MODEL` (each <case>.onnx has its
<case>.expect with the words of the message it must produce, exit code 2).

Regenerate (from the repository root; needs Debian's python3-onnx 1.12, under /usr/bin/python3, not a
pyenv python):

    /usr/bin/python3 tests/invalid/make_bad_onnx.py

The script is deterministic: running it again rewrites the same bytes.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13


def model(nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "bad", inputs, outputs, list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="make_bad_onnx")
    m.ir_version = 7
    return m


def float_input(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def weights(name, shape, seed):
    values = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return numpy_helper.from_array(values, name)


def write(name, data):
    with open(os.path.join(HERE, name + ".onnx"), "wb") as f:
        f.write(data)


def mlp():
    """Gemm-Relu-Gemm, 16 -> 32 -> 10, the valid model the truncated case cuts."""
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "fc2.weight", "fc2.bias"], ["y"], name="fc2", transB=1),
    ]
    inits = [weights("fc1.weight", (32, 16), 1), weights("fc1.bias", (32,), 2),
             weights("fc2.weight", (10, 32), 3), weights("fc2.bias", (10,), 4)]
    return model(nodes, [float_input("x", ["N", 16])], [float_input("y", ["N", 10])], inits)


def main():
    data = mlp().SerializeToString()
    write("onnx_truncated", data[: len(data) // 2])

    write("onnx_wrong_magic", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)))

    write("onnx_cyclic", model(
        [helper.make_node("Add", ["x", "c"], ["a"], name="first"),
         helper.make_node("Relu", ["a"], ["b"], name="second"),
         helper.make_node("Sigmoid", ["b"], ["c"], name="third")],
        [float_input("x", [1, 4])], [float_input("c", [1, 4])]).SerializeToString())

    write("onnx_missing_initializer", model(
        [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("Gemm", ["r", "fc.weight"], ["y"], name="fc", transB=1)],
        [float_input("x", [1, 4])], [float_input("y", [1, 3])]).SerializeToString())

    write("onnx_shape_mismatch", model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        [float_input("x", [3, 4])], [float_input("y", [3, 2])], [weights("w", (5, 2), 5)]).SerializeToString())

    huge = TensorProto()  # dims [2^40, 16] without data: the dims alone must be refused
    huge.name = "huge"
    huge.data_type = TensorProto.FLOAT
    huge.dims.extend([1 << 40, 16])
    write("onnx_absurd_initializer", model(
        [helper.make_node("Add", ["x", "huge"], ["y"], name="add")],
        [float_input("x", [1, 16])], [float_input("y", [1, 16])], [huge]).SerializeToString())

    write("onnx_absurd_input", model(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        [float_input("x", [1 << 40, 8])], [float_input("y", [1 << 40, 8])]).SerializeToString())

    write("onnx_unsupported_op", model(
        [helper.make_node("Relu", ["boxes"], ["b"], name="relu"),
         helper.make_node("Sigmoid", ["scores"], ["s"], name="sigmoid"),
         helper.make_node("NonMaxSuppression", ["b", "s"], ["selected"], name="nms")],
        [float_input("boxes", [1, 10, 4]), float_input("scores", [1, 1, 10])],
        [helper.make_tensor_value_info("selected", TensorProto.INT64, [None, 3])]).SerializeToString())


if __name__ == "__main__":
    main()
