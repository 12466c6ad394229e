package browsertest

import (
	"context"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cdpDriver drives one Chromium tab over the DevTools protocol.
type cdpDriver struct {
	ctx context.Context // the chromedp context of the tab
}

var _ driver = cdpDriver{}

func (c cdpDriver) evaluate(js string, d time.Duration) ([]byte, error) {
	return run(c.ctx, d, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
}

func (c cdpDriver) click(x, y float64) error {
	if _, err := run(c.ctx, opTimeout, chromedp.MouseEvent(chromedp.MouseMoved, x, y)); err != nil {
		return err
	}
	_, err := run(c.ctx, opTimeout, chromedp.MouseClickXY(x, y))
	return err
}

func (c cdpDriver) touch(down bool, x, y float64) error {
	typ, points := input.DispatchTouchEventTypeTouchEnd, []*input.TouchPoint{}
	if down {
		typ, points = input.DispatchTouchEventTypeTouchStart, []*input.TouchPoint{{X: x, Y: y}}
	}
	_, err := run(c.ctx, opTimeout, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: points})
		return err
	}))
	return err
}

// key sends Input.dispatchKeyEvent with everything a real keyboard's event
// has, as CDP computes none of it from the code.
func (c cdpDriver) key(e keyEvent) error {
	k := e.def
	key, text := k.forModifiers(e.modifiers)
	params := input.DispatchKeyEventParams{
		Type:                  input.DispatchKeyEventTypeKeyUp,
		Modifiers:             e.modifiers,
		Code:                  e.code,
		Key:                   key,
		WindowsVirtualKeyCode: k.vk,
		NativeVirtualKeyCode:  k.vk,
		Location:              k.location,
	}
	if e.down {
		// Like a real keyboard: a key that types text is a keyDown, which
		// also fires keypress and input; the others are rawKeyDown.
		params.Type = input.DispatchKeyEventTypeRawKeyDown
		if text != "" {
			params.Type = input.DispatchKeyEventTypeKeyDown
		}
		params.Text, params.UnmodifiedText = text, text
		params.AutoRepeat = &e.repeat
	}
	_, err := run(c.ctx, opTimeout, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, input.DispatchKeyEvent, params)
		return err
	}))
	return err
}

func (c cdpDriver) screenshot() ([]byte, error) {
	return run(c.ctx, opTimeout, func(ctx context.Context, tgt *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, tgt, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:      page.CaptureScreenshotFormatPng,
			FromSurface: new(true),
		})
		return r.Data, err
	})
}

func (c cdpDriver) closed() error { return c.ctx.Err() }
