package saves

import (
	"bytes"
	"errors"
	"testing"
)

func TestPictures(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			st := New(store(t, kind))
			games := []string{alwa.ID, anguna.ID, "nes:Other (USA).nes"}
			if got, err := st.Pictures(ctx, games); err != nil || len(got) != 0 {
				t.Fatalf("pictures of a fresh store: %v, %v", got, err)
			}
			png := []byte("\x89PNG a picture of alwa")
			v, err := st.PutPicture(ctx, alwa.ID, png)
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.Pictures(ctx, games)
			if err != nil || len(got) != 1 || got[alwa.ID] != v {
				t.Fatalf("pictures %v, %v; want alwa's at %s", got, err, v)
			}
			if b, err := st.Picture(ctx, alwa.ID, v); err != nil || !bytes.Equal(b, png) {
				t.Errorf("picture %q, %v", b, err)
			}
			for _, tt := range []struct{ game, version string }{{anguna.ID, v}, {alwa.ID, "0000000000000000"}, {alwa.ID, "../../x"}} {
				if _, err := st.Picture(ctx, tt.game, tt.version); !errors.Is(err, ErrNoPicture) {
					t.Errorf("picture of %s at %q: %v, want ErrNoPicture", tt.game, tt.version, err)
				}
			}
			if _, err := st.PutPicture(ctx, anguna.ID, make([]byte, MaxPicture+1)); !errors.Is(err, ErrTooLarge) {
				t.Errorf("an oversized picture: %v", err)
			}
		})
	}
}
