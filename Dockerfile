# Root filesystem of the managed plugin: the static binary and nothing else,
# so it builds with no registry (make plugin). With a registry, build the
# binary in a Go image first:
#   docker run --rm -v "$PWD":/src -w /src golang:1.24 make build
FROM scratch
COPY bin/ovn-docker /ovn-docker
ENTRYPOINT ["/ovn-docker", "serve"]
