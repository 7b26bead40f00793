package output

import (
	"fmt"
	"sync"
	"time"
)

var frames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Step is one long-running step shown to the user. On a terminal it is a
// spinner on Err that is replaced by the plain message when done; elsewhere
// the message is printed once as a plain line, so piped output and logs read
// exactly like the seed's transcript.
type Step struct {
	p         *Printer
	msg       string
	transient bool // leave nothing behind (Wait)
	stop      chan struct{}
	done      sync.WaitGroup
	mu        sync.Mutex
	stopped   bool
}

// Start begins a step with message msg (e.g. "Deploying 'secret-app' ...").
func (p *Printer) Start(msg string) *Step {
	s := &Step{p: p, msg: msg, stop: make(chan struct{})}
	if p.Quiet {
		return s
	}
	if !p.TTY {
		fmt.Fprintln(p.Err, msg)
		return s
	}
	s.done.Add(1)
	go s.spin()
	return s
}

func (s *Step) spin() {
	defer s.done.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		fmt.Fprintf(s.p.Err, "\r\x1b[K%s %s", s.p.paint(faint, frames[i%len(frames)]), s.message())
		select {
		case <-s.stop:
			fmt.Fprint(s.p.Err, "\r\x1b[K")
			return
		case <-t.C:
		}
	}
}

// Wait shows a transient spinner with msg while something is awaited (e.g.
// the user's browser login): only on a terminal, and erased when done, so
// non-interactive output stays exactly the same.
func (p *Printer) Wait(msg string) *Step {
	s := &Step{p: p, msg: msg, stop: make(chan struct{}), transient: true}
	if p.Quiet || !p.TTY {
		return s
	}
	s.done.Add(1)
	go s.spin()
	return s
}

// Done ends the step. On a terminal the spinner line is replaced by the
// plain message. Safe to call more than once.
func (s *Step) Done() {
	s.mu.Lock()
	already := s.stopped
	s.stopped = true
	s.mu.Unlock()
	if already || s.p.Quiet || !s.p.TTY {
		return
	}
	close(s.stop)
	s.done.Wait()
	if !s.transient {
		fmt.Fprintln(s.p.Err, s.message())
	}
}

func (s *Step) message() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msg
}

// Update changes the message shown by a running spinner (no-op without a TTY).
func (s *Step) Update(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msg = msg
}
