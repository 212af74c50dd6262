package queue

import (
	"fmt"
	"os"
)

// Scan reads the queue in dir without changing it (a copy, or one no process
// is using) and calls fn for every readable sample, oldest first, saying
// whether it had been acknowledged. It returns the number of damaged segments
// (each read up to its damage).
func Scan(dir string, fn func(s Sample, acked bool)) (damaged int, err error) {
	if _, err := os.Stat(dir); err != nil {
		return 0, fmt.Errorf("queue: %w", err)
	}
	idx, err := listSegments(dir)
	if err != nil {
		return 0, err
	}
	var acked Position
	for i := len(idx) - 1; i >= 0; i-- {
		info, err := scanSegment(dir, idx[i], Position{}, nil)
		if err != nil {
			return 0, err
		}
		if info.ack != nil && info.ack.Segment <= idx[i] {
			acked = *info.ack
			break
		}
	}
	for _, i := range idx {
		info, err := scanSegment(dir, i, acked, func(s Sample, end Position) { fn(s, !acked.Less(end)) })
		if err != nil {
			return damaged, err
		}
		if info.corrupt != nil {
			damaged++
		}
	}
	return damaged, nil
}
