# numberdesk container image: build stage with the Rust toolchain, small run stage without it.
#
#   docker build -t numberdesk .
#   docker run -p 8080:8080 -v numberdesk:/var/lib/numberdesk \
#     -e NUMBERDESK_ADMIN_TOKEN=change-me numberdesk
#
# The service runs as the unprivileged user `numberdesk` (uid 10001) and keeps its SQLite
# database and mail files in the volume /var/lib/numberdesk. Settings come from NUMBERDESK_*
# variables (docs/operations.md); compose.yaml runs it with PostgreSQL.

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY benches benches
COPY tools tools
RUN cargo build --release --locked --bin numberdesk \
 && strip --strip-unneeded target/release/numberdesk

FROM debian:trixie-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/numberdesk \
      --shell /usr/sbin/nologin numberdesk \
 && install -d -o numberdesk -g numberdesk -m 0750 /var/lib/numberdesk
COPY --from=build /src/target/release/numberdesk /usr/local/bin/numberdesk
ENV NUMBERDESK_LISTEN=0.0.0.0:8080 \
    NUMBERDESK_DATABASE_URL=sqlite:///var/lib/numberdesk/numberdesk.db \
    NUMBERDESK_MAIL_DIR=/var/lib/numberdesk/mail \
    NUMBERDESK_LOG_FORMAT=json
USER numberdesk:numberdesk
WORKDIR /var/lib/numberdesk
VOLUME ["/var/lib/numberdesk"]
EXPOSE 8080
# SIGTERM (docker stop) finishes the requests in flight and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["numberdesk"]
CMD ["serve"]
