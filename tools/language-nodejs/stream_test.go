package main

import (
	"errors"
	"sync"
	"testing"
)

type chunk struct{ b []byte }

func TestStreamWriter(t *testing.T) {
	var sent []*chunk
	var mu sync.Mutex
	w := streamWriter[chunk]{&mu, func(c *chunk) error { sent = append(sent, c); return nil },
		func(b []byte) *chunk { return &chunk{b} }}

	buf := []byte("port 4321\n")
	n, err := w.Write(buf)
	if err != nil || n != len(buf) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(buf))
	}
	copy(buf, "XXXX") // the caller reuses its buffer once Write returns
	if _, err := w.Write([]byte("second")); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || string(sent[0].b) != "port 4321\n" || string(sent[1].b) != "second" {
		var got []string
		for _, c := range sent {
			got = append(got, string(c.b))
		}
		t.Errorf("sent %q, want one message per write with the bytes as written", got)
	}
}

func TestStreamWriterSendError(t *testing.T) {
	var mu sync.Mutex
	closed := errors.New("stream closed")
	w := streamWriter[chunk]{&mu, func(*chunk) error { return closed }, func(b []byte) *chunk { return &chunk{b} }}
	if n, err := w.Write([]byte("x")); n != 0 || !errors.Is(err, closed) {
		t.Errorf("Write = %d, %v; want 0, %v", n, err, closed)
	}
	if !mu.TryLock() {
		t.Error("the mutex is still held after a failed send")
	}
}
