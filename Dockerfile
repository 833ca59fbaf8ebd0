# Trunkline: a static binary on a distroless, non-root runtime image.
#   docker build --build-arg VERSION=$(git describe --always --dirty) -t trunkline .
#   docker run -p 5060:5060/udp -p 5060:5060/tcp -p 8080:8080 -v trunkline-data:/data \
#     -e TRUNKLINE_ADVERTISE=203.0.113.10 trunkline
# Every flag of `trunkline serve` is also an environment variable (TRUNKLINE_ADVERTISE,
# TRUNKLINE_STORE, TRUNKLINE_CONFIG, ...); the advertise address is the one carriers and
# customers reach the container at. The first admin token is in `docker logs`; a lost one:
#   docker run --rm -v trunkline-data:/data trunkline token create -data /data   (container stopped)

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w -X main.version=${VERSION}" -o /out/trunkline ./cmd/trunkline \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/trunkline /usr/local/bin/trunkline
# An empty /data owned by the nonroot user (65532), so a fresh named volume is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
EXPOSE 5060/udp 5060/tcp 8080
VOLUME /data
ENV TRUNKLINE_DATA=/data TRUNKLINE_ADMIN=0.0.0.0:8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/trunkline", "health"]
ENTRYPOINT ["/usr/local/bin/trunkline"]
CMD ["serve"]
