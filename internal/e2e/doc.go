// Package e2e tests Telecart as a user meets it: the real `telecart serve`
// wiring, the web app in headless Chromium, video and input over real
// WebRTC on loopback, all inside a network namespace with only lo.
package e2e
