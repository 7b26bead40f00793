package docker

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/riseplatform/rise/sdk"
)

func TestQuantities(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "512Mi": 512 << 20, "1Gi": 1 << 30, "500M": 500e6, "1048576": 1 << 20} {
		got, err := memoryBytes(in)
		if err != nil || got != want {
			t.Errorf("memoryBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]int64{"": 0, "500m": 5e8, "2": 2e9, "0.25": 25e7} {
		got, err := nanoCPUs(in)
		if err != nil || got != want {
			t.Errorf("nanoCPUs(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"lots", "-1Mi", "Mi"} {
		if _, err := memoryBytes(bad); err == nil {
			t.Errorf("memoryBytes(%q) accepted", bad)
		}
	}
	if _, err := nanoCPUs("xm"); err == nil {
		t.Error("nanoCPUs(xm) accepted")
	}
}

func frame(stream byte, s string) []byte {
	h := make([]byte, 8)
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
	return append(h, s...)
}

func TestDemux(t *testing.T) {
	var buf bytes.Buffer
	buf.Write(frame(1, "2026-11-23T14:25:01.5Z hel"))
	buf.Write(frame(2, "2026-11-23T14:25:02Z oops\n"))
	buf.Write(frame(1, "lo\n2026-11-23T14:25:03Z tail-no-newline"))
	var got []sdk.LogLine
	err := demux(&buf, func(s sdk.Stream, b []byte) error { got = append(got, parseLine(s, b)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("lines = %+v", got)
	}
	if got[0].Stream != sdk.Stderr || got[0].Text != "oops" {
		t.Errorf("line 0 = %+v", got[0])
	}
	if got[1].Stream != sdk.Stdout || got[1].Text != "hello" || got[1].Time.Nanosecond() != 5e8 {
		t.Errorf("line 1 = %+v", got[1])
	}
	if got[2].Text != "tail-no-newline" {
		t.Errorf("line 2 = %+v", got[2])
	}
}

func TestValidate(t *testing.T) {
	if err := (&Runtime{HealthTimeout: "soon"}).Validate(); err == nil {
		t.Error("bad duration accepted")
	}
	if err := (&Runtime{RestartPolicy: "sometimes"}).Validate(); err == nil {
		t.Error("bad restart policy accepted")
	}
	if err := (&Runtime{}).Validate(); err != nil {
		t.Error(err)
	}
	if c := Component(); c.Name != "docker" {
		t.Error("component name")
	} else if _, ok := c.New().(sdk.Runtime); !ok {
		t.Error("component is not a runtime")
	}
}

func TestValidateIsolationSettings(t *testing.T) {
	for _, bad := range []*Runtime{
		{Firewall: "ufw"},
		{DenyCIDRs: []string{"metadata"}},
		{DenyCIDRs: []string{"fd00::/8"}},
		{Memory: "lots"},
		{PidsLimit: -2},
		{CapAdd: []string{"ALL"}},
		{CapAdd: []string{"NET_SPOOF"}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	good := &Runtime{Firewall: "none", DenyCIDRs: []string{"169.254.169.254", "10.0.0.0/8"}, Memory: "0", PidsLimit: -1,
		CapAdd: []string{"cap_net_bind_service", "SETUID", "SETUID"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	caps, _ := capabilities(good.CapAdd)
	cidrs, _ := validCIDRs(good.DenyCIDRs)
	if strings.Join(caps, ",") != "NET_BIND_SERVICE,SETUID" || strings.Join(cidrs, ",") != "169.254.169.254/32,10.0.0.0/8" {
		t.Fatalf("normalised caps %v, cidrs %v", caps, cidrs)
	}
	if caps, _ := capabilities(nil); len(caps) != len(defaultCaps) {
		t.Fatalf("default caps = %v", caps)
	}
}

func TestCredentialsOnlyForTheirRegistry(t *testing.T) {
	c := &sdk.Credentials{Registry: "127.0.0.1:5000", Repository: "127.0.0.1:5000/rise/a"}
	for ref, want := range map[string]bool{
		"127.0.0.1:5000/rise/a@sha256:00": true,
		"127.0.0.1:5000/rise/b@sha256:00": true, // the registry decides
		"evil.example/rise/a@sha256:00":   false,
		"127.0.0.1:5001/rise/a:1":         false,
		"busybox":                         false,
	} {
		if got := credsFor(c, ref); got != want {
			t.Errorf("credsFor(%s) = %v", ref, got)
		}
	}
	if !credsFor(&sdk.Credentials{Repository: "reg.example/x"}, "reg.example/x:1") {
		t.Error("registry from the repository not used")
	}
}
