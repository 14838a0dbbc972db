package raft

import (
	"net"
	"strconv"
	"testing"
)

// BenchmarkFrames sends Raft-sized frames (a 4 KiB entry's batch, and
// heartbeats' small ones) over a loopback TCP connection and reads them
// back: what the transport's framing costs each message, system calls
// included.
func BenchmarkFrames(b *testing.B) {
	for _, size := range []int{64, 4 << 10} {
		b.Run(byteSize(size), func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}()
			out, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer out.Close()
			in, ok := <-accepted
			if !ok {
				b.Fatal("accept failed")
			}
			defer in.Close()
			key := []byte("0123456789abcdef0123456789abcdef")
			w := &frameWriter{conn: out, mac: newFrameMAC(key)}
			r := newFrameReader(in, newFrameMAC(key), frameLimits{batch: 1 << 20, chunk: 1 << 20})
			payload := make([]byte, size)
			done := make(chan error, 1)
			go func() {
				for range b.N {
					if err := w.write(frameRaft, payload); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for range b.N {
				if _, p, err := r.next(); err != nil || len(p) != size {
					b.Fatalf("frame: %d bytes, %v", len(p), err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
