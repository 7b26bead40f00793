package sdk

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/riseplatform/rise/sdk/pluginpb"
)

// streamUI is the plugin-side UI: every call becomes an Event on the RPC's
// response stream.
type streamUI struct {
	mu   sync.Mutex
	send func(*pluginpb.Event) error
	next uint32
}

func newStreamUI(send func(*pluginpb.Event) error) *streamUI { return &streamUI{send: send} }

func (u *streamUI) emit(ev *pluginpb.Event) {
	ev.Time = tsToPB(time.Now())
	u.mu.Lock()
	defer u.mu.Unlock()
	_ = u.send(ev) // a broken stream means the caller is gone; its ctx is cancelled
}

func (u *streamUI) Step(title string) Step {
	u.mu.Lock()
	u.next++
	id := u.next
	u.mu.Unlock()
	u.emit(&pluginpb.Event{Event: &pluginpb.Event_Step{Step: &pluginpb.Step{Id: id, Title: title}}})
	return &streamStep{ui: u, id: id}
}

func (u *streamUI) Logf(format string, args ...any) {
	u.emit(&pluginpb.Event{Event: &pluginpb.Event_Log{Log: &pluginpb.LogLine{Text: fmt.Sprintf(format, args...)}}})
}

type streamStep struct {
	ui   *streamUI
	id   uint32
	once sync.Once
}

func (s *streamStep) Done() {
	s.once.Do(func() {
		s.ui.emit(&pluginpb.Event{Event: &pluginpb.Event_Step{Step: &pluginpb.Step{Id: s.id, State: pluginpb.Step_STATE_DONE}}})
	})
}

func (s *streamStep) Fail(err error) error {
	msg := "failed"
	if err != nil {
		msg = err.Error()
	}
	s.once.Do(func() {
		s.ui.emit(&pluginpb.Event{Event: &pluginpb.Event_Step{Step: &pluginpb.Step{Id: s.id, State: pluginpb.Step_STATE_FAILED, Error: msg}}})
	})
	return err
}

func (s *streamStep) Writer(st Stream) io.Writer { return stepWriter{s: s, stream: streamToPB(st)} }

type stepWriter struct {
	s      *streamStep
	stream pluginpb.Stream
}

func (w stepWriter) Write(p []byte) (int, error) {
	data := append([]byte(nil), p...)
	w.s.ui.emit(&pluginpb.Event{Event: &pluginpb.Event_Output{Output: &pluginpb.Output{StepId: w.s.id, Stream: w.stream, Data: data}}})
	return len(p), nil
}

// uiReplay is the host side: it hands streamed events to a host sdk.UI.
type uiReplay struct {
	ui    UI
	steps map[uint32]Step
}

func newUIReplay(ui UI) *uiReplay {
	if ui == nil {
		ui = DiscardUI{}
	}
	return &uiReplay{ui: ui, steps: map[uint32]Step{}}
}

func (r *uiReplay) handle(ev *pluginpb.Event) {
	switch e := ev.GetEvent().(type) {
	case *pluginpb.Event_Step:
		st := e.Step
		switch st.GetState() {
		case pluginpb.Step_STATE_RUNNING:
			r.steps[st.GetId()] = r.ui.Step(st.GetTitle())
		case pluginpb.Step_STATE_DONE:
			if s, ok := r.steps[st.GetId()]; ok {
				s.Done()
				delete(r.steps, st.GetId())
			}
		case pluginpb.Step_STATE_FAILED:
			if s, ok := r.steps[st.GetId()]; ok {
				_ = s.Fail(errors.New(st.GetError()))
				delete(r.steps, st.GetId())
			}
		}
	case *pluginpb.Event_Output:
		if s, ok := r.steps[e.Output.GetStepId()]; ok {
			_, _ = s.Writer(streamFromPB(e.Output.GetStream())).Write(e.Output.GetData())
		} else {
			r.ui.Logf("%s", e.Output.GetData())
		}
	case *pluginpb.Event_Log:
		r.ui.Logf("%s", e.Log.GetText())
	}
}

// DiscardUI is a UI that drops everything.
type DiscardUI struct{}

func (DiscardUI) Step(string) Step          { return discardStep{} }
func (DiscardUI) Logf(string, ...any)       {}
func (discardStep) Done()                   {}
func (discardStep) Fail(err error) error    { return err }
func (discardStep) Writer(Stream) io.Writer { return io.Discard }

type discardStep struct{}
