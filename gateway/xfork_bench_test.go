package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/gateway/gatewaytest"
	"github.com/forkstore/forkstore/meta"
)

// BenchmarkForkGetAcrossShards is a GET of 4 KiB (HeadObject, then the
// bytes) through a real single-node Service of 4 metadata shards: a key
// inherited by a fork on its parent's shard ("local"), the same through a
// fork on another shard ("remote-inherited": one more metadata read, of
// the parent's shard), and a key the remote fork holds itself
// ("remote-own"), and an inherited key through a remote fork that changed
// the tags of an inherited version ("remote-inherited-annotated": one more
// read, of the fork's shard). cpu-ms/op is the process's CPU per GET.
func BenchmarkForkGetAcrossShards(b *testing.B) {
	cfg := gatewaytest.Config(b)
	cfg.MetaShards = 4
	s := gatewaytest.NewNode(b, cfg).Service()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: "base"}); err != nil {
		b.Fatal(err)
	}
	const keys = 64
	body := make([]byte, 4<<10)
	for i := range keys {
		if _, err := s.PutObject(ctx, &gateway.PutObjectInput{Bucket: "base", Key: fmt.Sprintf("k%02d", i),
			Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
			b.Fatal(err)
		}
	}
	baseShard, err := s.BucketShard(ctx, "base")
	if err != nil {
		b.Fatal(err)
	}
	local, remote := localName("near", baseShard), remoteNames("far", baseShard, 1)[0]
	for _, n := range []string{local, remote} {
		if _, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: n, ForkSource: "base"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range keys {
		if _, err := s.PutObject(ctx, &gateway.PutObjectInput{Bucket: remote, Key: fmt.Sprintf("own%02d", i),
			Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
			b.Fatal(err)
		}
	}
	// A remote fork that changed the tags of one inherited version: its
	// reads of inherited keys also ask its shard for their annotation.
	annotated := remoteNames("tagged", baseShard, 1)[0]
	if _, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: annotated, ForkSource: "base"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AnnotateObject(ctx, gateway.AnnotateObjectInput{Bucket: annotated, Key: "k00", SetTags: true, Tags: map[string]string{"a": "1"}}); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, bucket, prefix string }{
		{"local", local, "k"}, {"remote-inherited", remote, "k"}, {"remote-own", remote, "own"},
		{"remote-inherited-annotated", annotated, "k"},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu := processCPU()
			for i := 0; b.Loop(); i++ {
				o, err := s.HeadObject(ctx, gateway.GetObjectInput{Bucket: c.bucket, Key: fmt.Sprintf("%s%02d", c.prefix, i%keys)})
				if err != nil {
					b.Fatal(err)
				}
				rc, err := s.OpenObject(ctx, o, 0, o.Size)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkMergeAcrossShards is a merge of 64 changed keys of 4 KiB
// (fork-wins) into the parent through a real single-node Service of 4
// metadata shards: a fork on its parent's shard ("local": one shard's
// entries, the chunks shared) and a fork on another shard ("across": the
// hold, begin, entries, end and settle commands, the changes read from the
// fork's shard and every chunk copied). The writes that make the changes
// are outside the timing; cpu-ms/op is the process's CPU per merge,
// those writes included.
func BenchmarkMergeAcrossShards(b *testing.B) {
	cfg := gatewaytest.Config(b)
	cfg.MetaShards = 4
	cfg.InlineMax = 1 << 10
	s := gatewaytest.NewNode(b, cfg).Service()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: "base"}); err != nil {
		b.Fatal(err)
	}
	baseShard, err := s.BucketShard(ctx, "base")
	if err != nil {
		b.Fatal(err)
	}
	const keys = 64
	body := make([]byte, 4<<10)
	for _, c := range []struct{ name, fork string }{
		{"local", localName("near", baseShard)}, {"across", remoteNames("far", baseShard, 1)[0]},
	} {
		if _, err := s.CreateBucket(ctx, gateway.CreateBucketInput{Name: c.fork, ForkSource: "base"}); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for k := range keys {
					body[0] = byte(i)
					if _, err := s.PutObject(ctx, &gateway.PutObjectInput{Bucket: c.fork, Key: fmt.Sprintf("k%02d", k),
						Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				rep, _, err := s.MergeFork(ctx, gateway.MergeInput{Fork: c.fork, Strategy: meta.MergeForkWins})
				if err != nil || rep.Puts != keys {
					b.Fatalf("merge: %+v %v", rep, err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}
