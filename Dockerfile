# The Lifeboat server image: `lifeboat server` (the controllers) and the rest of the CLI in one
# binary, as `lifeboat install` deploys it (docs/install.md, "The image").
#
#   docker build -t ghcr.io/lifeboat/lifeboat:v0.1.0 .
#
# Stage 1 builds on Debian 12 with the packages scripts/install-deps.sh installs (only those the
# build needs: no test emulators, no benchmark library). Stage 2 is debian:12-slim with the
# binary, the shared libraries it links (glibc excepted: the slim image has the same one), the
# CA bundle (TLS to object stores) and the time-zone database (CRON_TZ schedules), run as a
# non-root user whose id matches the Deployment's securityContext (65532).

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config ca-certificates tzdata \
      libcurl4-openssl-dev libssl-dev zlib1g-dev libdeflate-dev libzstd-dev libarchive-dev \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libsimdjson-dev \
      libyaml-cpp-dev libabsl-dev libcli11-dev libspdlog-dev libfmt-dev libpugixml-dev \
      libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the CMake configuration reads (a local build/ directory must not come along).
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake/ cmake/
COPY include/ include/
COPY src/ src/
COPY kubesim/ kubesim/
COPY tools/ tools/
COPY test/ test/
RUN cmake --preset release -DLIFEBOAT_BUILD_BENCH=OFF \
 && cmake --build --preset release --target lifeboat
# /out becomes the runtime image's root: the stripped binary and its libraries at their paths
# (under /usr/lib: in Debian 12 /lib is a symlink to it, which a COPY must not replace).
RUN mkdir -p /out \
 && strip --strip-debug -o /out/lifeboat build/release/bin/lifeboat \
 && ldd build/release/bin/lifeboat \
    | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' \
    | grep -Ev '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*)\.so' \
    | sed 's#^/lib/#/usr/lib/#' \
    | xargs -r cp --parents -L -t /out \
 && mkdir -p /out/etc/ssl/certs /out/usr/share \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && cp -r /usr/share/zoneinfo /out/usr/share/

FROM debian:12-slim
COPY --from=build /out/ /
RUN ldconfig \
 && groupadd --system --gid 65532 lifeboat \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin lifeboat \
 && mkdir -p /scratch && chown 65532:65532 /scratch
ENV TMPDIR=/scratch
USER 65532:65532
EXPOSE 8085
ENTRYPOINT ["/lifeboat"]
CMD ["server"]
