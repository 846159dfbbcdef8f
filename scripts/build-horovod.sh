#!/usr/bin/env bash
# Builds Horovod 0.28.1 (torch + gloo + MPI) for the given Python and installs it.
# Horovod's last release does not compile against torch 2.x as shipped: it needs C++17
# (the fix merged upstream in horovod PR #3998 was never released). We apply that change
# to the PyPI sdist, build a wheel once per machine and torch version, and cache it.
set -euo pipefail
PY=${1:?usage: build-horovod.sh PYTHON}
if "$PY" -c "import horovod.torch" >/dev/null 2>&1; then exit 0; fi
torch_version=$("$PY" -c "import torch; print(torch.__version__.split('+')[0])")
pyver=$("$PY" -c "import sys; print(f'{sys.version_info[0]}{sys.version_info[1]}')")
cache=${MLTRAIN_BUILD_CACHE:-$HOME/.cache/jupyter_mltrain}/horovod-0.28.1-torch${torch_version}-py${pyver}
if ! ls "$cache"/horovod-*.whl >/dev/null 2>&1; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cd "$work"
  "$PY" -m pip download --no-deps --no-binary :all: horovod==0.28.1 -d .
  tar xzf horovod-0.28.1.tar.gz
  cd horovod-0.28.1
  sed -i 's/^set(CMAKE_CXX_STANDARD 14)$/set(CMAKE_CXX_STANDARD 17)/' CMakeLists.txt
  sed -i 's/^    set(CMAKE_CXX_STANDARD 14)$/    set(CMAKE_CXX_STANDARD 17)/' horovod/torch/CMakeLists.txt
  sed -i 's/-std=c++11 -fPIC/-std=c++17 -fPIC/' third_party/gloo/CMakeLists.txt
  grep -q 'CMAKE_CXX_STANDARD 17' CMakeLists.txt horovod/torch/CMakeLists.txt
  grep -q 'std=c++17' third_party/gloo/CMakeLists.txt
  "$PY" -m pip install -q cmake packaging wheel >/dev/null 2>&1 || true
  HOROVOD_WITH_PYTORCH=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITH_MPI=1 HOROVOD_WITHOUT_MXNET=1 \
    HOROVOD_WITHOUT_TENSORFLOW=1 MAKEFLAGS=-j2 \
    "$PY" -m pip wheel --no-cache-dir --no-build-isolation --no-deps -w dist .
  mkdir -p "$cache"
  cp dist/horovod-*.whl "$cache"/
fi
"$PY" -m pip install --no-deps "$cache"/horovod-*.whl
"$PY" -m pip install -q cloudpickle psutil pyyaml packaging cffi
(cd / && "$PY" -c "import horovod.torch")
