package signal

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	game := GameInfo{ID: "nes/alwa", Title: "Alwa's Awakening", System: "nes"}
	payloads := []Payload{
		Start{Game: "nes/alwa"},
		Start{Game: "nes/alwa", Room: "AbCd1234", Private: true, Crowd: true, Nick: "Zoë"},
		Join{Room: "AbCd1234", Nick: "ann"},
		Resume{Room: "AbCd1234", Token: "c2VjcmV0LXRva2VuLTEyMw"},
		Seat{Slot: 2},
		Seat{Slot: 0},
		Nick{Nick: "bob"},
		Start{Game: "nes/alwa", Player: "AAAAAAAAAAAAAAAAAAAAAA"},
		Join{Room: "r", Player: "player-id_0123456789"},
		Save{Slot: 4},
		Start{Game: "g", Zone: "eu", Worker: "w-1"},
		Latency{RTT: map[WorkerID]float64{"w-1": 4.5, "w-2": 120}},
		Hello{Games: []GameInfo{game}, Workers: []WorkerInfo{{ID: "w-1", Zone: "eu", Ping: "https://w1.example.org/ping", Rooms: 1, Capacity: 4}, {ID: "w-2", Draining: true}, {ID: "w-3", Ping: "/ping"}}},
		Register{ID: "w1", Capacity: 2, Games: []GameInfo{game}, Ping: "http://10.0.0.2:8001/ping"},
		Load{Slot: 0},
		Saves{Saves: []SaveInfo{{Slot: 0, Time: 1700000000000, Thumbnail: "data:image/png;base64,iVBO"}, {Slot: 3, Time: 1}}, Saved: 3},
		Loaded{Save: SaveInfo{Slot: 2, Time: 5}, By: "m1"},
		Reset{},
		WasReset{By: "m2"},
		Quit{},
		Offer("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"),
		Answer("v=0\r\n"),
		Candidate{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host", SDPMid: ptr("0"), SDPMLineIndex: ptr(uint16(0))},
		Hello{Games: []GameInfo{game}, ICEServers: []ICEServer{{URLs: []string{"stun:stun.example.org"}}}},
		Started{Room: "AbCd1234", Game: game, Width: 256, Height: 224, Aspect: 4.0 / 3, FPS: 60.0988},
		RoomState{ID: "AbCd1234", Rev: 7, Game: game, Crowd: true, You: "m2", Members: []Member{{ID: "m1", Nick: "ann", Slot: 1}, {ID: "m2", Slot: 0}}},
		Refused{Code: CodeSlotTaken, Message: "ann holds slot 1"},
		Listing{ID: "AbCd1234", Game: game, Players: 2, Spectators: 5, Age: 61000},
		Listing{ID: "AbCd1234", Game: game, Closed: true},
		LiveRooms{Rooms: []Listing{{ID: "AbCd1234", Game: game, Players: 1, Age: 5}}},
		Ended{Reason: "the game crashed"},
		Error{Code: CodeNoWorker, Message: "every worker is full"},
		Error{Code: CodeRoomEnded, Message: "this room has ended", Game: &game},
		Register{ID: "w1", Zone: "eu", Capacity: 8, Games: []GameInfo{game}},
		Register{ID: "w1", Capacity: 1, Games: []GameInfo{game}, Rooms: []Listing{{ID: "r", Game: game, Players: 1}}},
		Heartbeat{Rooms: 3},
		Heartbeat{Rooms: 1, CPU: 0.25, Draining: true},
		Drain{},
		Check{Worker: "eu-1"},
		Hello{Games: []GameInfo{{ID: "nes:Foo.nes", Title: "Foo", System: "nes", Art: "0123456789abcdef"}}},
		ArtRequest{Game: "nes:Foo (USA).nes"},
		Art{Game: "nes:Foo.nes", Version: "0123456789abcdef", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n")},
		Art{Game: "nes:Foo.nes"},
		ArtChanged{Game: "nes:Foo.nes", Art: "fedcba9876543210"},
	}
	for _, p := range payloads {
		b, err := Encode("s1", p)
		if err != nil {
			t.Fatalf("encode %T: %v", p, err)
		}
		m, got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if m.Session != "s1" || m.Type != p.Type() || !reflect.DeepEqual(got, p) {
			t.Errorf("round trip of %T: got %#v in %+v", p, got, m)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  string
		want error
	}{
		{"not json", `start`, ErrMalformed},
		{"trailing data", `{"v":1,"type":"quit"} {}`, ErrMalformed},
		{"unknown envelope field", `{"v":1,"type":"quit","extra":1}`, ErrMalformed},
		{"old version", `{"v":0,"type":"quit"}`, ErrVersion},
		{"no version", `{"type":"quit"}`, ErrVersion},
		{"unknown type", `{"v":1,"type":"launch"}`, ErrUnknown},
		{"unknown payload field", `{"v":1,"type":"start","data":{"game":"x","cheat":true}}`, ErrBadPayload},
		{"wrong payload type", `{"v":1,"type":"start","data":{"game":7}}`, ErrBadPayload},
		{"missing game", `{"v":1,"type":"start","data":{}}`, ErrBadPayload},
		{"control characters in id", `{"v":1,"type":"start","data":{"game":"a\u0000b"}}`, ErrBadPayload},
		{"not an sdp", `{"v":1,"type":"offer","data":{"sdp":"hello"}}`, ErrBadPayload},
		{"slot 5", `{"v":1,"type":"seat","data":{"slot":5}}`, ErrBadPayload},
		{"cpu over 1", `{"v":1,"type":"heartbeat","data":{"rooms":1,"cpu":1.5}}`, ErrBadPayload},
		{"negative latency", `{"v":1,"type":"latency","data":{"rtt":{"w":-1}}}`, ErrBadPayload},
		{"latency of an hour", `{"v":1,"type":"latency","data":{"rtt":{"w":3600000}}}`, ErrBadPayload},
		{"ping not http", `{"v":1,"type":"register","data":{"id":"w","capacity":1,"games":[],"ping":"javascript:alert(1)"}}`, ErrBadPayload},
		{"ping on another host, scheme left out", `{"v":1,"type":"register","data":{"id":"w","capacity":1,"games":[],"ping":"//evil.example/ping"}}`, ErrBadPayload},
		{"ping with a space", `{"v":1,"type":"register","data":{"id":"w","capacity":1,"games":[],"ping":"http://a b/ping"}}`, ErrBadPayload},
		{"save to the autosave", `{"v":1,"type":"save","data":{"slot":0}}`, ErrBadPayload},
		{"load slot 5", `{"v":1,"type":"load","data":{"slot":5}}`, ErrBadPayload},
		{"short player id", `{"v":1,"type":"start","data":{"game":"g","player":"abc"}}`, ErrBadPayload},
		{"player id with a slash", `{"v":1,"type":"join","data":{"room":"r","player":"../../../../etc/passwd"}}`, ErrBadPayload},
		{"thumbnail not a PNG", `{"v":1,"type":"saves","data":{"saves":[{"slot":1,"time":1,"thumbnail":"javascript:alert(1)"}]}}`, ErrBadPayload},
		{"negative slot", `{"v":1,"type":"seat","data":{"slot":-1}}`, ErrBadPayload},
		{"join without room", `{"v":1,"type":"join","data":{}}`, ErrBadPayload},
		{"long nick", `{"v":1,"type":"nick","data":{"nick":"` + strings.Repeat("x", MaxNick+1) + `"}}`, ErrBadPayload},
		{"negative players", `{"v":1,"type":"listing","data":{"id":"r","game":{"id":"g","system":"nes"},"players":-1,"spectators":0,"age":0}}`, ErrBadPayload},
		{"more rooms than capacity", `{"v":1,"type":"register","data":{"id":"w","capacity":1,"games":[],"rooms":[{"id":"a","game":{"id":"g","system":"nes"},"players":1,"spectators":0,"age":0},{"id":"b","game":{"id":"g","system":"nes"},"players":1,"spectators":0,"age":0}]}}`, ErrBadPayload},
		{"zero capacity", `{"v":1,"type":"register","data":{"id":"w","capacity":0,"games":[]}}`, ErrBadPayload},
		{"bad picture", `{"v":1,"type":"started","data":{"room":"r","game":{"id":"g","system":"nes"},"width":0,"height":224,"aspect":1.3,"fps":60}}`, ErrBadPayload},
		{"oversized", `{"v":1,"type":"error","data":{"code":"x","message":"` + strings.Repeat("x", MaxMessage) + `"}}`, ErrTooLarge},
		{"check without worker", `{"v":1,"type":"check","session":"c1","data":{}}`, ErrBadPayload},
		{"check of a worker with control characters", `{"v":1,"type":"check","data":{"worker":"a\u0007"}}`, ErrBadPayload},
		{"art version not hex", `{"v":1,"type":"hello","data":{"games":[{"id":"g","title":"G","system":"nes","art":"../x"}]}}`, ErrBadPayload},
		{"art version too long", `{"v":1,"type":"art_changed","data":{"game":"g","art":"` + strings.Repeat("a", 33) + `"}}`, ErrBadPayload},
		{"art changed to nothing", `{"v":1,"type":"art_changed","data":{"game":"g","art":""}}`, ErrBadPayload},
		{"art request without game", `{"v":1,"type":"art_request","session":"a1","data":{}}`, ErrBadPayload},
		{"art of another type", `{"v":1,"type":"art","data":{"game":"g","content_type":"text/html","data":"PGgxPg=="}}`, ErrBadPayload},
		{"art without a type", `{"v":1,"type":"art","data":{"game":"g","data":"iVBO"}}`, ErrBadPayload},
		{"art of empty data", `{"v":1,"type":"art","data":{"game":"g","data":""}}`, ErrBadPayload},
		{"art not base64", `{"v":1,"type":"art","data":{"game":"g","content_type":"image/png","data":"%%%"}}`, ErrBadPayload},
		{"a type without art", `{"v":1,"type":"art","data":{"game":"g","content_type":"image/png"}}`, ErrBadPayload},
		{"art too large", `{"v":1,"type":"art","data":{"game":"g","content_type":"image/png","data":"` + strings.Repeat("AAAA", MaxArt/3+1) + `"}}`, ErrBadPayload},
		{"long message", `{"v":1,"type":"error","data":{"code":"x","message":"` + strings.Repeat("x", 2000) + `"}}`, ErrBadPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Decode([]byte(tt.msg)); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"start","data":{"game":"nes/alwa"}}`))
	f.Add([]byte(`{"v":1,"type":"candidate","session":"s","data":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0}}`))
	f.Add([]byte(`{"v":1,"type":"register","data":{"id":"w","capacity":2,"games":[{"id":"a","title":"A","system":"nes"}]}}`))
	f.Add([]byte(`{"v":1,"type":"join","session":"s","data":{"room":"AbCd1234","nick":"ann"}}`))
	f.Add([]byte(`{"v":1,"type":"seat","data":{"slot":2}}`))
	f.Add([]byte(`{"v":1,"type":"room","data":{"id":"r","rev":3,"game":{"id":"g","system":"nes"},"you":"m1","members":[{"id":"m1","nick":"a","slot":1}]}}`))
	f.Add([]byte(`{"v":1,"type":"rooms","data":{"rooms":[{"id":"r","game":{"id":"g","system":"nes"},"players":1,"spectators":2,"age":5}]}}`))
	f.Add([]byte(`{"v":1,"type":"error","data":{"code":"room_ended","message":"m","game":{"id":"g","system":"nes"}}}`))
	f.Add([]byte(`{"v":1,"type":"check","session":"check-eu-1-direct","data":{"worker":"eu-1"}}`))
	f.Add([]byte(`{"v":1,"type":"art_request","session":"art-1","data":{"game":"nes:Foo.nes"}}`))
	f.Add([]byte(`{"v":1,"type":"art","session":"art-1","data":{"game":"nes:Foo.nes","version":"00ff","content_type":"image/png","data":"iVBORw0KGgo="}}`))
	f.Add([]byte(`{"v":1,"type":"art","session":"art-1","data":{"game":"g"}}`))
	f.Add([]byte(`{"v":1,"type":"art_changed","data":{"game":"g","art":"abc"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, p, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes must encode and decode to the same.
		again, err := Encode(m.Session, p)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", p, err)
		}
		_, p2, err := Decode(again)
		if err != nil || !reflect.DeepEqual(p, p2) {
			t.Fatalf("%s re-decoded to %#v, %v; want %#v", again, p2, err, p)
		}
	})
}

// A hello made from a template decodes as the hello with those ICE
// servers, for each browser its own, and the template is left as it was.
func TestHelloTemplate(t *testing.T) {
	t.Parallel()
	h := Hello{Games: []GameInfo{{ID: "nes/alwa", Title: "Alwa's Awakening", System: "nes"}}, Workers: []WorkerInfo{{ID: "w-1", Rooms: 1, Capacity: 4}}}
	tmpl, err := NewHelloTemplate(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, ice := range [][]ICEServer{
		{{URLs: []string{"turn:t.example.org:3478?transport=udp"}, Username: "1700000000:a", Credential: "x+/="}},
		nil,
		{{URLs: []string{"stun:s.example.org"}}, {URLs: []string{"turn:t.example.org"}, Username: "1700000000:b", Credential: "y"}},
	} {
		b, err := tmpl.With(ice)
		if err != nil {
			t.Fatal(err)
		}
		_, p, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		want := h
		want.ICEServers = ice
		if !reflect.DeepEqual(p, want) {
			t.Errorf("decoded %+v, want %+v", p, want)
		}
	}
	// No games at all is a hello too.
	tmpl, err = NewHelloTemplate(Hello{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tmpl.With([]ICEServer{{URLs: []string{"turn:t"}}})
	if _, _, err := Decode(b); err != nil {
		t.Errorf("decode %s: %v", b, err)
	}
}
