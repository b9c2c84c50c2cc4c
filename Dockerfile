# syntax=docker/dockerfile:1
# The vmodem image: `docker build -t vmodem .`, then `docker run --rm vmodem fleet --help`.
# deploy/kubernetes/ runs it as a fleet (a StatefulSet) and as a load generator (an Indexed Job).

FROM rust:1.95-bookworm AS builder
WORKDIR /src
# What the build needs: the workspace (vmodem-at), the patched libunftp, the build script and
# the bench sources (Cargo.toml names them). The tests stay out.
COPY Cargo.toml Cargo.lock build.rs ./
COPY crates crates
COPY vendor vendor
COPY benches benches
COPY src src
# The cache mounts keep downloaded crates and compiled dependencies between builds, so a change
# to vmodem's own source rebuilds vmodem only. The binary leaves the cached target folder here.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin vmodem \
    && cp target/release/vmodem /usr/local/bin/vmodem

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin vmodem
COPY --from=builder /usr/local/bin/vmodem /usr/local/bin/vmodem
USER 10001:10001
ENTRYPOINT ["vmodem"]
CMD ["--help"]
