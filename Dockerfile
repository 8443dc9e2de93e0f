# recserve: server, trainer and CLI. Build: buildah build -t recserve .
# (or docker build). deploy/container-test.sh builds and runs it here.
#
# Stage 1 builds from Debian 12 packages and runs the test suite (the
# deployment-asset checks, which need kubectl and Node.js, run in CI instead).
# Portable by default: RECSERVE_AVX2=OFF targets any x86-64; pass
# --build-arg RECSERVE_AVX2=ON for hosts known to have AVX2 and FMA.
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config \
      libabsl-dev libeigen3-dev libhnswlib-dev nlohmann-json3-dev zlib1g-dev \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev \
      python3-numpy python3-grpcio python3-protobuf prometheus \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG RECSERVE_AVX2=OFF
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRECSERVE_AVX2=${RECSERVE_AVX2} \
 && cmake --build build -j"$(nproc)" \
      --target recserve-server recserve-train recserve-cli recserve-bench
# --build-arg RUN_TESTS=0 skips building and running the tests (CI, which has
# just run them on the same sources).
ARG RUN_TESTS=1
RUN if [ "$RUN_TESTS" = 1 ]; then \
      cmake --build build -j"$(nproc)" \
      && cd build && ctest --output-on-failure -j"$(nproc)" --timeout 600 -LE deploy; \
    fi

# Stage 2: the shared libraries the binaries link, the binaries, a user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libabsl20220623 libc-ares2 libcivetweb1 libgrpc++1.51 libgrpc29 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprotobuf32 \
      libre2-9 libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 recserve \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin recserve \
 && mkdir -p /snapshots /data \
 && chown recserve:recserve /snapshots /data
COPY --from=build /src/build/recserve-server /src/build/recserve-train \
     /src/build/recserve-cli /src/build/recserve-bench /usr/local/bin/
COPY deploy/container/recserve-entrypoint deploy/container/recserve-train-job \
     /usr/local/bin/
USER 10001:10001
WORKDIR /tmp
VOLUME ["/snapshots"]
EXPOSE 50051 9464
# Exec form: the entrypoint execs the server, which is then PID 1 and
# handles SIGTERM itself (drain, grace, exit 0).
ENTRYPOINT ["/usr/local/bin/recserve-entrypoint"]
CMD ["--listen=0.0.0.0:50051", "--metrics_listen=0.0.0.0:9464"]
