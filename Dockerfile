# Built by `make docker`: the static binary (CGO off) is built first, so the
# image needs no base image but scratch.
FROM scratch
COPY bin/forkstore /forkstore
ENV FORKSTORE_DATA=/data \
    FORKSTORE_S3_ADDR=0.0.0.0:9000 \
    FORKSTORE_RAFT_ADDR=0.0.0.0:9001
VOLUME /data
EXPOSE 9000 9001
ENTRYPOINT ["/forkstore"]
CMD ["server"]
