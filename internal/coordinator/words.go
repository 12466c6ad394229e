package coordinator

import (
	"errors"

	"github.com/telecart/telecart/internal/signal"
)

// What went wrong, as the coordinator's code knows it. The text of these
// errors is for the log; what a player reads is in sentences.
var (
	errBadMessage        = errors.New("coordinator: bad message from the browser")
	errInRoom            = errors.New("coordinator: the browser is in a room already")
	errNotInRoom         = errors.New("coordinator: the browser is in no room")
	errNotForBrowsers    = errors.New("coordinator: a message browsers do not send")
	errUnknownGame       = errors.New("coordinator: no worker has the game")
	errAllBusy           = errors.New("coordinator: every worker with the game is full")
	errNoSuchWorker      = errors.New("coordinator: no such worker")
	errWorkerUnreachable = errors.New("coordinator: the worker did not take the message")
	errRoomEnded         = errors.New("coordinator: the room has ended")
	errNoRoom            = errors.New("coordinator: no room has this id")
	errWorkerLost        = errors.New("coordinator: the worker's link was lost")
	errTooManyChecks     = errors.New("coordinator: the browser has too many checks open")
)

// limitError is a refusal by one of the limits (limits.go); it names the
// limit, as the refusals metric labels it.
type limitError string

func (e limitError) Error() string { return "coordinator: over the limit of " + string(e) }

// The limits' refusals.
const (
	errTooManySockets          limitError = "sockets"
	errTooManyBrowsers         limitError = "browsers"
	errTooManyStarts           limitError = "starts"
	errTooManyRooms            limitError = "rooms"
	errTooManyJoins            limitError = "joins"
	errTooManyUnanswered       limitError = "unanswered"
	errTooManyPlayerRooms      limitError = "player_rooms"
	errTooManyPlayerUnanswered limitError = "player_unanswered"
)

// allLimits are the limits' refusals, each a label of the metric.
var allLimits = []limitError{
	errTooManySockets, errTooManyBrowsers, errTooManyStarts, errTooManyRooms,
	errTooManyJoins, errTooManyUnanswered, errTooManyPlayerRooms, errTooManyPlayerUnanswered,
}

// sentences are the words for players of the errors above, with the
// error code the page acts on.
var sentences = []struct {
	err            error
	code, sentence string
}{
	{errBadMessage, signal.CodeBadRequest, "The page sent something the server could not read; reload the page."},
	{errInRoom, signal.CodeBadRequest, "You are in a room already; quit it first."},
	{errNotInRoom, signal.CodeBadRequest, "You are not in a room."},
	{errNotForBrowsers, signal.CodeBadRequest, "The page sent a message meant for someone else; reload the page."},
	{errUnknownGame, signal.CodeUnknownGame, "No server has this game."},
	{errAllBusy, signal.CodeNoWorker, "Every server that has this game is full; try again in a moment."},
	{errNoSuchWorker, signal.CodeNoWorker, "That server is not there any more; choose another."},
	{errWorkerUnreachable, signal.CodeNoWorker, "The server went away; try again."},
	{errRoomEnded, signal.CodeRoomEnded, "This room has ended."},
	{errNoRoom, signal.CodeNoRoom, "There is no room at this link: check that it was copied whole. A room long over is forgotten, too."},
	{errWorkerLost, signal.CodeNoWorker, "The server running your game went away."},
	{errTooManyChecks, signal.CodeBadRequest, "Too many connection checks at once; wait for one to end."},
	// A refused socket's sentence is also its close reason: 123 bytes
	// at most (words_test.go).
	{errTooManySockets, signal.CodeTooMany, "Too many Telecart pages are open from your network. Close one, and this page connects again."},
	{errTooManyBrowsers, signal.CodeTooMany, "The server has too many visitors right now. This page tries again in a moment."},
	{errTooManyStarts, signal.CodeTooMany, "Many games were started from your network in a short while. Wait a minute, then try again."},
	{errTooManyRooms, signal.CodeTooMany, "Too many games are open from your network. A room closes a little while after everyone has left it; try again then."},
	{errTooManyJoins, signal.CodeTooMany, "Too many tries to join rooms from your network. Wait a few seconds, then try again."},
	{errTooManyUnanswered, signal.CodeTooMany, "Too many games are connecting from your network at once. Try again in a moment."},
	{errTooManyPlayerRooms, signal.CodeTooMany, "You have too many games open. A room closes a little while after everyone has left it; try again then."},
	{errTooManyPlayerUnanswered, signal.CodeTooMany, "Too many of your games are connecting at once. Try again in a moment."},
}

// somethingWrong is what a player is told of an error the coordinator has
// no words for.
const somethingWrong = "Something went wrong on the server; try again."

// words is what a player is told of err: the one way from an error to
// text a browser sees. An error's own text may name hosts, files or
// internals, and means nothing to a player, so it never goes out: a known
// error has its sentence, and anything else a generic one, with the
// details in the log.
func (c *Coordinator) words(err error) (code, sentence string) {
	for _, s := range sentences {
		if errors.Is(err, s.err) {
			return s.code, s.sentence
		}
	}
	c.log.Error("coordinator: an error with no words for players; told them something went wrong", "err", err)
	return signal.CodeInternal, somethingWrong
}

// errorFor is the error message a browser is sent for err (see words).
func (c *Coordinator) errorFor(err error) signal.Error {
	code, sentence := c.words(err)
	return signal.Error{Code: code, Message: sentence}
}

// refuse tells a browser its request failed, for err (see words).
func (c *Coordinator) refuse(b *browserConn, ref signal.SessionID, err error) error {
	return b.send(ref, c.errorFor(err))
}
