package signal

import (
	"errors"
	"fmt"
)

// The messages of games' pictures, between coordinator and worker:
// browsers fetch /art/ID from the coordinator, which asks a worker that
// has the game (see package coordinator).

// MaxArt bounds a picture in an Art message: in base64 it fits the
// envelope's MaxMessage with room to spare. Workers send thumbnails of a
// few tens of KiB.
const MaxArt = 640 << 10

// ArtRequest asks a worker for a game's picture, under a session id of
// the coordinator's own that the answer, an Art, carries back.
type ArtRequest struct {
	Game string `json:"game"`
}

func (ArtRequest) Type() Type        { return TypeArtRequest }
func (a ArtRequest) validate() error { return checkID("game", a.Game, true) }

// Art answers an ArtRequest: the game's picture (PNG or JPEG) and its
// version, or no Data when the worker has none to give.
type Art struct {
	Game    string `json:"game"`
	Version string `json:"version,omitempty"`
	// ContentType is image/png or image/jpeg.
	ContentType string `json:"content_type,omitempty"`
	Data        []byte `json:"data,omitempty"` // base64 in JSON
}

func (Art) Type() Type { return TypeArt }
func (a Art) validate() error {
	errs := []error{checkID("game", a.Game, true), checkVersion(a.Version)}
	switch {
	case len(a.Data) > MaxArt:
		errs = append(errs, fmt.Errorf("%w: a picture of %d bytes, at most %d", errField, len(a.Data), MaxArt))
	case len(a.Data) > 0 && a.ContentType != "image/png" && a.ContentType != "image/jpeg":
		errs = append(errs, fmt.Errorf("%w: content type %.40q, want image/png or image/jpeg", errField, a.ContentType))
	case a.Data != nil && len(a.Data) == 0:
		// It would come back as no data at all.
		errs = append(errs, fmt.Errorf("%w: empty data: leave it out", errField))
	case len(a.Data) == 0 && (a.ContentType != "" || a.Version != ""):
		errs = append(errs, fmt.Errorf("%w: a content type or version without a picture", errField))
	}
	return errors.Join(errs...)
}

// ArtChanged tells the coordinator a game's picture has a new version
// (Art, as in GameInfo): a worker captured a frame of a game that had no
// picture. The coordinator's next hello says so, and it tells the other
// workers that have the game without a picture, which find it in the
// storage they share.
type ArtChanged struct {
	Game string `json:"game"`
	Art  string `json:"art"`
}

func (ArtChanged) Type() Type { return TypeArtChanged }
func (a ArtChanged) validate() error {
	err := checkVersion(a.Art)
	if err == nil && a.Art == "" {
		err = fmt.Errorf("%w: art version missing", errField)
	}
	return errors.Join(checkID("game", a.Game, true), err)
}
