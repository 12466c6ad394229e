// Package deploy holds the files that deploy Telecart beyond one machine:
// the container stack (compose.yaml), the systemd units (systemd/), and
// the Kubernetes manifests (kubernetes/, a kustomize base, and
// kubernetes-example/, the overlay that holds its secrets). It has no
// code; its tests hold those files to the settings the binary takes, to
// the hardening the units promise, and the manifests to the Kubernetes
// API's types and to one another.
package deploy
