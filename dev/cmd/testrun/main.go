// Command testrun runs `go test -json …` for `make test` and turns its
// events back into the usual `go test` output (the ok/FAIL line of every
// package, the output of failing tests), then prints:
//
//   - one line counting the skipped tests by reason, so a reader sees at a
//     glance what did not run;
//   - with -leaks, every process the tests started and every container,
//     network or volume of rise's (a "rise." label or a "rise-" name) created
//     during the run that is still there: any of them fails the run.
//
// Usage:
//
//	testrun [-leaks] -- go test -json ./...
//
// The exit code is the command's, or 1 when it succeeded but something
// leaked. testrun makes itself the "child subreaper" of the run, so a process
// a test started and forgot is re-parented to testrun, not to init, and is
// found (and killed) after the command exits.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	leaks := flag.Bool("leaks", false, "fail when a test-started process or a rise container/network/volume outlives the run")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: testrun [-leaks] -- go test -json [flags] [packages]")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(args, checks{processes: *leaks, docker: *leaks}, os.Stdout))
}

// checks are the leak checks to run after the command.
type checks struct{ processes, docker bool }

func run(args []string, leaks checks, out io.Writer) int {
	var before objects
	if leaks.processes {
		if err := setSubreaper(); err != nil {
			fmt.Fprintf(os.Stderr, "testrun: %v\n", err)
			return 2
		}
	}
	if leaks.docker {
		before = dockerObjects()
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testrun: %v\n", err)
		return 2
	}
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "testrun: %v\n", err)
		return 2
	}
	w.Close()
	// Ctrl-C reaches the whole foreground process group anyway; testrun
	// stays alive to print what it has and to check for leaks.
	signal.Ignore(os.Interrupt)

	// As the subreaper, testrun is the parent of every orphan the tests
	// leave: reap the exited ones while the run goes on, or they stay
	// zombies that still answer kill(pid, 0) and fail the tests that check
	// a process has gone.
	stopReaping := make(chan struct{})
	if leaks.processes {
		go reapOrphans(cmd.Process.Pid, stopReaping)
	}
	defer close(stopReaping)
	f := newFormatter(out)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			f.line(sc.Bytes())
		}
	}()
	err = cmd.Wait()
	// A leaked process may still hold the pipe open: read what is there,
	// then stop waiting for the end of it.
	select {
	case <-read:
	case <-time.After(2 * time.Second):
		r.Close()
		<-read
	}
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
		if code < 0 {
			code = 1
		}
	case err != nil:
		fmt.Fprintf(os.Stderr, "testrun: %v\n", err)
		code = 2
	}
	if code == 0 && f.failed {
		code = 1 // a failure event with a zero exit: trust the event
	}
	fmt.Fprintln(out, f.skipSummary())

	if leaks.processes || leaks.docker {
		var problems []string
		if leaks.processes {
			problems = append(problems, leakedProcesses(10*time.Second)...)
		}
		if leaks.docker {
			problems = append(problems, dockerObjects().newSince(before)...)
		}
		if len(problems) > 0 {
			fmt.Fprintf(out, "LEAKED: %d thing(s) outlived the test run:\n", len(problems))
			for _, p := range problems {
				fmt.Fprintf(out, "  %s\n", p)
			}
			if code == 0 {
				code = 1
			}
		} else {
			fmt.Fprintln(out, "leaks: none (no test-started process, no rise container, network or volume left)")
		}
	}
	return code
}

// setSubreaper makes orphaned descendants re-parent to this process.
func setSubreaper() error {
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", errno)
	}
	return nil
}
