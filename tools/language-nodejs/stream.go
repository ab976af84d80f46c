package main

import "sync"

// streamWriter forwards a child's stdout or stderr to a gRPC server stream, one message per
// write; wrap makes the message, mu keeps the two writers of one child from sending at once.
type streamWriter[T any] struct {
	mu   *sync.Mutex
	send func(*T) error
	wrap func([]byte) *T
}

func (w streamWriter[T]) Write(p []byte) (int, error) {
	msg := w.wrap(append([]byte(nil), p...))
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}
