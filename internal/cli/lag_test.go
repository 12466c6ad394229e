package cli

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"strings"
	"testing"

	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/testrom"
)

// TestLag measures the test ROM's lag box and echo box from the command
// line: the lag printed, and the runahead_frames to set; and the lag box
// played with run-ahead of its lag, which hides it.
func TestLag(t *testing.T) {
	fixturetest.Core(t, "nes") // skips with -short
	for _, tc := range []struct {
		box  image.Rectangle
		want string
	}{
		{testrom.LagBox(), "a answers in 2 frames (each press: [2 2 2])\nsuggested: \"runahead_frames\": {\"telecart-test.nes\": 2}\n"},
		{testrom.EchoBox(), "a answers in 4 frames (each press: [4 4 4])\nsuggested: \"runahead_frames\": {\"telecart-test.nes\": 3}\n"},
	} {
		region := fmt.Sprintf("%d,%d,%d,%d", tc.box.Min.X, tc.box.Min.Y, tc.box.Dx(), tc.box.Dy())
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), []string{"lag", "-region", region, "-window", "8"}, &stdout, &stderr); code != 0 {
			t.Fatalf("lag -region %s: exit %d\n%s", region, code, stderr.String())
		}
		if got := stdout.String(); got != "telecart-test.nes: "+tc.want {
			t.Errorf("lag -region %s printed %q", region, got)
		}
	}
	var stdout, stderr bytes.Buffer
	lag := testrom.LagBox()
	region := fmt.Sprintf("%d,%d,%d,%d", lag.Min.X, lag.Min.Y, lag.Dx(), lag.Dy())
	if code := Run(context.Background(), []string{"lag", "-region", region, "-window", "8", "-runahead", "2"}, &stdout, &stderr); code != 0 {
		t.Fatalf("lag -runahead 2: exit %d\n%s", code, stderr.String())
	}
	if got, want := stdout.String(), "telecart-test.nes: a answers in 0 frames with run-ahead of 2 (each press: [0 0 0])\n"; got != want {
		t.Errorf("lag -runahead 2 printed %q, want %q", got, want)
	}
	for _, args := range [][]string{{"-button", "turbo"}, {"-region", "1,2,3"}, {"-region", "0,0,0,8"}} {
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), append([]string{"lag"}, args...), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), args[0]) {
			t.Errorf("lag %v: exit %d, %q; want 2 and a message naming %s", args, code, stderr.String(), args[0])
		}
	}
}

func FuzzParseRegion(f *testing.F) {
	for _, s := range []string{"", "160,24,32,32", "1,2,3", "0,0,0,8", "-1,0,4,4", "a,b,c,d", " 1, 2, 3, 4", "99999999999999999999,0,1,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRegion(s)
		if err != nil {
			return
		}
		if s != "" && (r.Empty() || r.Min.X < 0 || r.Min.Y < 0) {
			t.Errorf("%q: region %v accepted", s, r)
		}
	})
}
