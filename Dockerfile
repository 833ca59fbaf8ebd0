# Trunkline: a static binary on a distroless, non-root runtime image.
#   docker build -t trunkline .
#   docker run -p 5060:5060/udp -p 5060:5060/tcp -p 8080:8080 -v trunkline-data:/data trunkline

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/trunkline ./cmd/trunkline \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/trunkline /usr/local/bin/trunkline
# An empty /data owned by the nonroot user (65532), so a fresh named volume is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
EXPOSE 5060/udp 5060/tcp 8080
VOLUME /data
ENTRYPOINT ["/usr/local/bin/trunkline", "serve", "-data", "/data", "-admin", "0.0.0.0:8080"]
