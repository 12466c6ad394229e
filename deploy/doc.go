// Package deploy holds the files that deploy Telecart beyond one machine:
// the container stack (compose.yaml) and the systemd units (systemd/). It
// has no code; its tests hold those files to the settings the binary takes
// and to the hardening the units promise.
package deploy
